// Pools: each pool's policy, workers (state, infra, the job on each) and its jobs; Down with a
// confirmation. A deployment whose API has no /pools says so instead of showing an error.
import { useState } from 'preact/hooks';
import { html, api, usePoll, ErrorBox, money, ago, navigate } from './lib.js';

function absent(err) {
  return err?.status === 404 && /no route|does not serve/.test(err.message);
}

function DownDialog({ pool, onClose, onDone }) {
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    try {
      const r = await api(`/pools/${encodeURIComponent(pool.name)}/down`, { method: 'POST', body: {} });
      onDone(`Pool ${pool.name} is being torn down${r.cancelled?.length ? `; cancelled jobs ${r.cancelled.join(', ')}` : ''}.`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<div class="modal-back"><div class="modal" role="dialog"><h2>Tear down pool ${pool.name}?</h2>
    <p>Its ${pool.workers.length} worker(s) are terminated and its pending and running jobs cancelled.</p>
    <${ErrorBox} err=${error} compact />
    <div class="actions"><button onClick=${onClose}>Keep it</button><button class="danger" disabled=${busy} onClick=${go}>Tear down</button></div></div></div>`;
}

export function PoolsPage() {
  const { data, error, refresh } = usePoll(() => api('/pools'), 'pools', 3000, () => false);
  const [down, setDown] = useState();
  const [notice, setNotice] = useState();
  if (absent(error)) {
    return html`<section class="page"><h1>Pools</h1><p class="empty" data-testid="pools-absent">Pools are not available in this deployment: its API has no pools routes.</p></section>`;
  }
  const pools = data?.pools;
  return html`<section class="page">
    <div class="page-head"><h1>Pools</h1></div>
    ${notice ? html`<div class="notice" role="status">${notice}</div>` : null}
    <${ErrorBox} err=${error} />
    ${pools === undefined ? (error ? null : html`<p class="muted">Loading pools…</p>`) : pools.length === 0 ? html`<p class="empty">No pools. Create one with \`skyless jobs pool apply pool.yaml\`.</p>` : null}
    ${(pools ?? []).map((p) => html`<div class="card" key=${p.name} data-pool=${p.name}>
      <div class="card-head"><h2>${p.name}</h2><span class="muted">${p.policy} · owner ${p.user} · created ${ago(p.createdAt)}</span>
        ${p.terminating ? html`<span class="badge st-cancelling">TERMINATING</span>` : html`<button class="danger" onClick=${() => setDown(p)}>Down</button>`}
        <a class="button" href=${`#/jobs?pool=${encodeURIComponent(p.name)}`}>Jobs of this pool</a></div>
      <p class="counts">${Object.entries(p.counts).map(([k, n]) => html`<span class="chip">${k}: ${n}</span>`)}</p>
      ${p.lastError ? html`<div class="error-box compact"><strong>Last error</strong><span>${p.lastError}</span></div>` : null}
      <table class="grid"><thead><tr><th>Worker</th><th>State</th><th>Infra</th><th>Instance</th><th>Price</th><th>Launched</th><th>Job(s)</th></tr></thead>
      <tbody>${p.workers.map((w) => html`<tr><td>${w.id}</td><td>${w.state}</td><td>${w.infra ?? '—'}</td><td>${w.instanceType ?? '—'}${w.spot ? ' spot' : ''}</td><td>${w.hourlyPrice !== undefined ? `${money(w.hourlyPrice)}/h` : '—'}</td><td>${ago(w.launchedAt)}</td>
        <td>${w.jobIds.length ? w.jobIds.map((id) => html`<a href=${`#/jobs/${id}`}>#${id}</a> `) : w.failedReason ? html`<span class="reason">${w.failedReason}</span>` : '—'}</td></tr>`)}</tbody></table>
    </div>`)}
    ${down ? html`<${DownDialog} pool=${down} onClose=${() => setDown()} onDone=${(m) => (setDown(), setNotice(m), refresh())} />` : null}
  </section>`;
}
