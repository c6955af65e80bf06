// The attempts timeline, drawn as SVG by hand (no chart library): one row per attempt, grouped by
// task. A bar spans launch → end (or now); its first, lighter part is provisioning (launch →
// running). Colour says the outcome; a preempted (LOST) attempt ends in a ⚡ marker; the dashed gap
// before a recovery's bar is the time the job waited (back-off, re-launch), labelled with its length.
import { html, duration, outcomeOf, money, attemptCost } from './lib.js';

const OUTCOME_COLOR = { SUCCEEDED: '#16a34a', LOST: '#f59e0b', RUN_FAILED: '#dc2626', SETUP_FAILED: '#b91c1c', CANCELLED: '#6b7280', RUNNING: '#2563eb', PROVISIONING: '#60a5fa', ENDED: '#9ca3af' };
const OUTCOME_LABEL = { SUCCEEDED: 'succeeded', LOST: 'preempted / lost', RUN_FAILED: 'run failed', SETUP_FAILED: 'setup failed', CANCELLED: 'cancelled', RUNNING: 'running', PROVISIONING: 'provisioning' };

export function Timeline({ job, attempts, now }) {
  if (!attempts.length) return html`<p class="muted">No attempt launched yet${job.tasks[0]?.nextLaunchAt ? ` (next launch ${new Date(job.tasks[0].nextLaunchAt).toLocaleTimeString()})` : ''}.</p>`;
  const rows = [...attempts].sort((a, b) => a.taskIndex - b.taskIndex || a.attempt - b.attempt);
  const t0 = Math.min(job.submittedAt, ...rows.map((a) => a.startedAt));
  const t1 = Math.max(t0 + 1000, ...rows.map((a) => a.endedAt ?? now));
  const W = 1000, LABEL = 290, RIGHT = 16, ROW = 30, TOP = 8, AXIS = 26;
  const H = TOP + rows.length * ROW + AXIS;
  const x = (t) => LABEL + ((t - t0) / (t1 - t0)) * (W - LABEL - RIGHT);
  const ticks = [];
  for (let i = 0; i <= 4; i++) ticks.push(t0 + ((t1 - t0) * i) / 4);
  const multiTask = job.tasks.length > 1;
  return html`
    <svg class="timeline" viewBox=${`0 0 ${W} ${H}`} role="img" aria-label="attempts timeline" data-testid="timeline">
      ${ticks.map((t) => html`<g><line x1=${x(t)} x2=${x(t)} y1=${TOP - 4} y2=${H - AXIS + 4} class="grid-line" /><text x=${x(t)} y=${H - 8} class="tick" text-anchor="middle">+${duration(t - t0)}</text></g>`)}
      ${rows.map((a, i) => {
        const y = TOP + i * ROW;
        const kind = outcomeOf(a);
        const end = a.endedAt ?? now;
        const run = a.runningAt ?? (a.state === 'PROVISIONING' ? end : a.startedAt);
        const prev = rows[i - 1] && rows[i - 1].taskIndex === a.taskIndex ? rows[i - 1] : undefined;
        const gapFrom = prev?.endedAt;
        const c = a.candidate;
        const label = `${multiTask ? `T${a.taskIndex} ` : ''}#${a.attempt} · ${c.cloud}/${a.zone ?? c.region} · ${c.instanceType}${c.spot ? ' (spot)' : ''}`;
        const cost = attemptCost(a, now);
        const tip = `attempt ${a.attempt}: ${OUTCOME_LABEL[kind] ?? kind}${a.outcome?.reason ? ` (${a.outcome.reason})` : a.reason ? ` (${a.reason})` : ''}; ${duration(end - a.startedAt)}; ${money(cost.usd)}${cost.estimated ? ' so far' : ''}`;
        return html`<g data-testid="attempt-bar" data-attempt=${a.attempt} data-task=${a.taskIndex} data-outcome=${kind}>
          <title>${tip}</title>
          <text x=${LABEL - 10} y=${y + ROW / 2 + 4} text-anchor="end" class="row-label">${label}</text>
          ${gapFrom !== undefined && a.startedAt > gapFrom ? html`<g class="gap"><line x1=${x(gapFrom)} x2=${x(a.startedAt)} y1=${y + ROW / 2} y2=${y + ROW / 2} /><text x=${(x(gapFrom) + x(a.startedAt)) / 2} y=${y + ROW / 2 - 4} text-anchor="middle">wait ${duration(a.startedAt - gapFrom)}</text></g>` : null}
          <rect x=${x(a.startedAt)} y=${y + 6} width=${Math.max(2, x(run) - x(a.startedAt))} height=${ROW - 12} rx="3" fill=${OUTCOME_COLOR[kind] ?? '#9ca3af'} opacity="0.45" />
          <rect x=${x(run)} y=${y + 6} width=${Math.max(a.state === 'PROVISIONING' ? 0 : 3, x(end) - x(run))} height=${ROW - 12} rx="3" fill=${OUTCOME_COLOR[kind] ?? '#9ca3af'} class=${a.state !== 'ENDED' ? 'live-bar' : ''} />
          ${kind === 'LOST' ? html`<text x=${x(end) + 3} y=${y + ROW / 2 + 5} class="preempt">⚡</text>` : null}
        </g>`;
      })}
    </svg>
    <div class="legend">${['PROVISIONING', 'RUNNING', 'SUCCEEDED', 'LOST', 'RUN_FAILED', 'CANCELLED'].map((k) => html`<span><i style=${`background:${OUTCOME_COLOR[k]}`}></i>${OUTCOME_LABEL[k]}</span>`)}<span><i class="dash"></i>wait before recovery (back-off, relaunch)</span></div>`;
}
