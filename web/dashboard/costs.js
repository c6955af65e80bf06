// Cost: spend per UTC day and per user and pool over a chosen range, from the recorded attempts
// (GET /costs). The bar chart is plain SVG.
import { html, api, usePoll, ErrorBox, money, navigate } from './lib.js';

const DAY = 86_400_000;

function dayStart(s) {
  return Date.parse(`${s}T00:00:00Z`);
}

function Bars({ days }) {
  const max = Math.max(...days.map((d) => d.usd), 0.0001);
  const W = 1000, H = 220, L = 60, B = 28, T = 10;
  const bw = (W - L - 10) / days.length;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const every = Math.ceil(days.length / 12);
  return html`<svg class="bars" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label="spend per day" data-testid="cost-chart">
    ${[0, 0.5, 1].map((f) => html`<g><line x1=${L} x2=${W - 10} y1=${y(max * f)} y2=${y(max * f)} class="grid-line" /><text x=${L - 6} y=${y(max * f) + 4} text-anchor="end" class="tick">${money(max * f)}</text></g>`)}
    ${days.map((d, i) => html`<g><rect x=${L + i * bw + 2} y=${y(d.usd)} width=${Math.max(1, bw - 4)} height=${H - B - y(d.usd)} rx="2" class="bar"><title>${d.day}: ${money(d.usd)}</title></rect>
      ${i % every === 0 ? html`<text x=${L + i * bw + bw / 2} y=${H - 8} text-anchor="middle" class="tick">${d.day.slice(5)}</text>` : null}</g>`)}
  </svg>`;
}

export function CostsPage({ query }) {
  const today = new Date().toISOString().slice(0, 10);
  const to = query.get('to') || today;
  const from = query.get('from') || new Date(dayStart(to) - 13 * DAY).toISOString().slice(0, 10);
  const { data, error } = usePoll(() => api(`/costs?from=${dayStart(from)}&to=${dayStart(to) + DAY}`), `${from}|${to}`, 30_000);
  const set = (k, v) => {
    const q = new URLSearchParams(query);
    q.set(k, v);
    navigate('/costs', q);
  };
  return html`<section class="page">
    <div class="page-head"><h1>Cost</h1>
      <form class="filters" onSubmit=${(e) => e.preventDefault()}>
        <label>From <input type="date" name="from" value=${from} max=${to} onChange=${(e) => set('from', e.currentTarget.value)} /></label>
        <label>To <input type="date" name="to" value=${to} min=${from} onChange=${(e) => set('to', e.currentTarget.value)} /></label>
      </form></div>
    <${ErrorBox} err=${error} />
    ${data ? html`
      <div class="facts"><div><dt>Total</dt><dd data-testid="cost-total">${money(data.totalUsd)}</dd></div>
        <div><dt>Attempts</dt><dd>${data.attempts}</dd></div>
        <div><dt>Jobs read</dt><dd>${data.jobsScanned}</dd></div></div>
      ${data.estimatedUsd > 0 ? html`<p class="note">${money(data.estimatedUsd)} of this is attempts still running, counted so far.</p>` : null}
      ${data.truncated ? html`<p class="note">Only the newest ${data.jobsScanned} jobs were read: the total may be low.</p>` : null}
      <${Bars} days=${data.days} />
      <div class="two">
        <div><h2>Per user</h2><table class="grid"><tbody>${data.byUser.length ? data.byUser.map((u) => html`<tr><td><a href=${`#/jobs?user=${encodeURIComponent(u.user)}`}>${u.user}</a></td><td class="num">${money(u.usd)}</td></tr>`) : html`<tr><td class="muted">no spend</td></tr>`}</tbody></table></div>
        <div><h2>Per pool</h2><table class="grid"><tbody>${data.byPool.length ? data.byPool.map((p) => html`<tr><td><a href=${`#/jobs?pool=${encodeURIComponent(p.pool)}`}>${p.pool}</a></td><td class="num">${money(p.usd)}</td></tr>`) : html`<tr><td class="muted">no pool spend</td></tr>`}</tbody></table></div>
      </div>` : error ? null : html`<p class="muted">Loading…</p>`}
  </section>`;
}
