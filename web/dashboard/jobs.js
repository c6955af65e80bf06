// Jobs: the queue, newest first, with filters (in the URL, so a view can be shared or reloaded),
// cursor paging (each page is one bounded API query however many jobs are stored) and live updates.
import { useState } from 'preact/hooks';
import { html, api, usePoll, ErrorBox, StatusBadge, STATUSES, money, ago, duration, navigate } from './lib.js';

const PAGE_SIZE = 50;
const FILTERS = ['status', 'user', 'pool', 'name'];

function queryFor(filters, cursor) {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (filters.status === 'ACTIVE') q.set('skipFinished', 'true');
  else if (filters.status) q.set('status', filters.status);
  for (const k of ['user', 'pool', 'name']) if (filters[k]) q.set(k, filters[k]);
  if (cursor) q.set('cursor', cursor);
  return q;
}

function runningFor(job, now) {
  const t = job.tasks;
  const ms = t.reduce((s, x) => s + (x.jobDurationMs ?? 0) + (x.runningSince ? now - x.runningSince : 0), 0);
  return ms > 0 ? duration(ms) : '—';
}

export function JobsPage({ query }) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) ?? '']));
  // Cursors of the pages before this one (a stack): "Newer" pops, "Older" pushes.
  const [cursors, setCursors] = useState([]);
  const cursor = cursors[cursors.length - 1];
  const key = `${queryFor(filters)}|${cursor ?? ''}`;
  const { data, error, at } = usePoll(() => api(`/jobs?${queryFor(filters, cursor)}`), key, 2000);

  const setFilter = (k, v) => {
    const q = new URLSearchParams(query);
    if (v) q.set(k, v);
    else q.delete(k);
    setCursors([]);
    navigate('/jobs', q);
  };
  const now = at ?? Date.now();
  const jobs = data?.jobs;
  const text = (k, label) => html`<label>${label}<input name=${k} value=${filters[k]} placeholder=${k === "name" ? "exact name" : "any"} onChange=${(e) => setFilter(k, e.currentTarget.value.trim())} /></label>`;
  return html`
    <section class="page">
      <div class="page-head">
        <h1>Managed jobs</h1>
        <span class=${`live ${error ? 'stale' : ''}`} data-testid="live">${error ? 'retrying…' : at ? `live · updated ${new Date(at).toLocaleTimeString(undefined, { hour12: false })}` : 'loading…'}</span>
      </div>
      <form class="filters" onSubmit=${(e) => e.preventDefault()}>
        <label>Status
          <select name="status" value=${filters.status} onChange=${(e) => setFilter('status', e.currentTarget.value)}>
            <option value="">all</option>
            <option value="ACTIVE">active (not finished)</option>
            ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
          </select>
        </label>
        ${text('user', 'User')} ${text('pool', 'Pool')} ${text('name', 'Name')}
        ${FILTERS.some((k) => filters[k]) ? html`<button type="button" class="link" onClick=${() => (setCursors([]), navigate('/jobs'))}>clear filters</button>` : null}
      </form>
      <${ErrorBox} err=${error} />
      ${jobs === undefined
        ? error ? null : html`<p class="muted">Loading jobs…</p>`
        : jobs.length === 0
          ? html`<p class="empty" data-testid="no-jobs">${FILTERS.some((k) => filters[k]) ? 'No job matches these filters.' : 'No managed jobs yet. Launch one with `skyless jobs launch task.yaml`.'}</p>`
          : html`
          <table class="grid jobs" data-testid="jobs-table">
            <thead><tr><th>ID</th><th>Name</th><th>User</th><th>Pool</th><th>Submitted</th><th>Run time</th><th>Status</th><th title="recoveries (preemptions, restarts)">#Rec</th><th>Cost</th><th>Details</th></tr></thead>
            <tbody>
              ${jobs.map((j) => html`
                <tr key=${j.jobId} data-job=${j.jobId} onClick=${(e) => { if (e.target.tagName !== 'A') navigate(`/jobs/${j.jobId}`); }}>
                  <td class="num"><a href=${`#/jobs/${j.jobId}`}>${j.jobId}</a></td>
                  <td class="name">${j.name}${j.tasks.length > 1 ? html` <span class="muted">(${j.currentTask + 1}/${j.tasks.length} tasks)</span>` : null}</td>
                  <td>${j.user}</td>
                  <td>${j.pool ?? '—'}</td>
                  <td title=${new Date(j.submittedAt).toISOString()}>${ago(j.submittedAt, now)}</td>
                  <td>${runningFor(j, now)}</td>
                  <td><${StatusBadge} status=${j.status} /></td>
                  <td class="num">${j.tasks.reduce((s, t) => s + t.recoveryCount, 0) || ''}</td>
                  <td class="num">${money(j.tasks.reduce((s, t) => s + (t.costUsd ?? 0), 0))}</td>
                  <td class="reason">${j.tasks.find((t) => t.failureReason)?.failureReason ?? ''}</td>
                </tr>`)}
            </tbody>
          </table>`}
      <div class="pager">
        <button disabled=${cursors.length === 0} onClick=${() => setCursors(cursors.slice(0, -1))}>← Newer</button>
        <span class="muted">page ${cursors.length + 1}</span>
        <button disabled=${!data?.nextCursor} onClick=${() => setCursors([...cursors, data.nextCursor])} data-testid="older">Older →</button>
      </div>
    </section>`;
}
