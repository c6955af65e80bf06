// One job: its tasks, the attempts timeline, per-attempt and total cost, the controller's events,
// logs, and the two actions (Cancel with a confirmation, Relaunch of the same spec).
import { useState } from 'preact/hooks';
import { html, api, usePoll, ErrorBox, StatusBadge, money, duration, clock, ago, outcomeOf, attemptCost, jobCost, navigate, explain } from './lib.js';
import { Timeline } from './timeline.js';
import { Logs } from './logs.js';

function secretKeys(job) {
  return [...new Set(job.spec.tasks.flatMap((t) => Object.keys(t.secrets ?? {})))].sort();
}

function Modal({ title, children, onClose }) {
  return html`<div class="modal-back" onClick=${(e) => e.target === e.currentTarget && onClose()}>
    <div class="modal" role="dialog" aria-label=${title}><h2>${title}</h2>${children}</div></div>`;
}

function CancelDialog({ job, onClose, onDone }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState();
  const go = async () => {
    setBusy(true);
    try {
      const r = await api('/jobs/cancel', { method: 'POST', body: { jobIds: [job.jobId] } });
      onDone(r.cancelled?.includes(job.jobId) ? `Cancellation of job ${job.jobId} requested: its nodes are being stopped.` : `Job ${job.jobId} had already finished.`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<${Modal} title=${`Cancel job ${job.jobId}?`} onClose=${onClose}>
    <p>Job <b>${job.name}</b> is ${job.status}. Cancelling stops its running task and terminates its nodes; it cannot be resumed.</p>
    <${ErrorBox} err=${error} compact />
    <div class="actions"><button onClick=${onClose}>Keep it running</button><button class="danger" disabled=${busy} onClick=${go} data-testid="confirm-cancel">Cancel job</button></div>
  <//>`;
}

function RelaunchDialog({ job, onClose }) {
  const keys = secretKeys(job);
  const [values, setValues] = useState({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState();
  const go = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const r = await api(`/jobs/${job.jobId}/relaunch`, { method: 'POST', body: keys.length ? { secrets: values } : {} });
      onClose();
      navigate(`/jobs/${r.jobIds[0]}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<${Modal} title=${`Relaunch job ${job.jobId}`} onClose=${onClose}>
    <form onSubmit=${go}>
      <p>Submits <b>${job.name}</b>'s spec again as a new job of yours (same resources, envs, recovery and ${job.tasks.length} task(s)).</p>
      ${keys.length ? html`<p class="note">This job has secrets. Their values are never returned by the API, so supply them again:</p>
        ${keys.map((k) => html`<label class="secret">${k}<input type="password" name=${`secret-${k}`} required autocomplete="off" value=${values[k] ?? ''} onInput=${(e) => setValues({ ...values, [k]: e.currentTarget.value })} /></label>`)}` : null}
      <${ErrorBox} err=${error} compact />
      <div class="actions"><button type="button" onClick=${onClose}>Back</button><button class="primary" type="submit" disabled=${busy}>Relaunch</button></div>
    </form>
  <//>`;
}

export function JobPage({ jobId }) {
  const load = async () => {
    const [j, ev] = await Promise.all([api(`/jobs/${jobId}`), api(`/jobs/${jobId}/events`)]);
    return { ...j, events: ev.events };
  };
  const { data, error, at, refresh } = usePoll(load, jobId, 2000, (d) => d.job.finished && d.job.finalizedAt !== undefined && d.attempts.every((a) => a.state === 'ENDED'));
  const [dialog, setDialog] = useState();
  const [notice, setNotice] = useState();
  if (!data) {
    if (error?.status === 404) {
      return html`<section class="page"><h1>Job ${jobId}</h1>
        <div class="error-box" role="alert" data-testid="error"><strong>Managed job ${jobId} no longer exists</strong><span>${explain(error).text}. It may never have existed here, or it was submitted to another deployment.</span></div>
        <p><a href="#/jobs">← All jobs</a></p></section>`;
    }
    return html`<section class="page"><h1>Job ${jobId}</h1><${ErrorBox} err=${error} />${error ? null : html`<p class="muted">Loading…</p>`}</section>`;
  }
  const { job, attempts, events } = data;
  const now = at ?? Date.now();
  const total = jobCost(job, attempts);
  return html`
    <section class="page">
      <p class="crumbs"><a href="#/jobs">← All jobs</a></p>
      <div class="page-head job-head">
        <h1><span class="muted">#${job.jobId}</span> ${job.name} <${StatusBadge} status=${job.status} /></h1>
        <div class="buttons">
          <button onClick=${() => setDialog('relaunch')}>Relaunch</button>
          ${job.finished ? null : html`<button class="danger" onClick=${() => setDialog('cancel')} disabled=${Boolean(job.cancelRequested)}>${job.cancelRequested ? 'Cancelling…' : 'Cancel'}</button>`}
        </div>
      </div>
      <dl class="facts">
        <div><dt>User</dt><dd>${job.user}</dd></div>
        <div><dt>Pool</dt><dd>${job.pool ?? '—'}</dd></div>
        <div><dt>Submitted</dt><dd title=${clock(job.submittedAt)}>${ago(job.submittedAt, now)}</dd></div>
        <div><dt>Ended</dt><dd>${job.endedAt ? clock(job.endedAt) : '—'}</dd></div>
        <div><dt>Recoveries</dt><dd>${job.tasks.reduce((s, t) => s + t.recoveryCount, 0)}</dd></div>
        <div><dt>Total cost</dt><dd data-testid="total-cost">${money(total.usd)}${total.estimated ? html` <span class="muted">so far</span>` : null}</dd></div>
      </dl>
      ${notice ? html`<div class="notice" role="status">${notice}</div>` : null}
      <${ErrorBox} err=${error} />
      <h2>Tasks</h2>
      <table class="grid">
        <thead><tr><th>#</th><th>Name</th><th>Status</th><th>Attempt</th><th>Recoveries</th><th>Restarts</th><th>Run time</th><th>Cost</th><th>Failure reason</th></tr></thead>
        <tbody>${job.tasks.map((t) => html`<tr data-task=${t.index}>
          <td class="num">${t.index}</td><td>${t.name}</td><td><${StatusBadge} status=${t.status} /></td><td class="num">${t.attempt || '—'}</td>
          <td class="num">${t.recoveryCount}</td><td class="num">${t.restartCount}</td>
          <td>${duration(t.jobDurationMs + (t.runningSince ? now - t.runningSince : 0))}</td>
          <td class="num">${money(t.costUsd)}</td><td class="reason">${t.failureReason ?? ''}</td></tr>`)}</tbody>
      </table>
      <h2>Attempts</h2>
      <${Timeline} job=${job} attempts=${attempts} now=${now} />
      ${attempts.length ? html`<table class="grid attempts">
        <thead><tr><th>Task</th><th>#</th><th>Where</th><th>Instance</th><th>Nodes</th><th>Launched</th><th>Ran</th><th>Outcome</th><th>Cost</th></tr></thead>
        <tbody>${[...attempts].sort((a, b) => a.taskIndex - b.taskIndex || a.attempt - b.attempt).map((a) => {
          const c = attemptCost(a, now);
          const kind = outcomeOf(a);
          return html`<tr>
            <td class="num">${a.taskIndex}</td><td class="num">${a.attempt}</td>
            <td>${a.candidate.cloud}/${a.zone ?? a.candidate.region}</td>
            <td>${a.candidate.instanceType}${a.candidate.spot ? ' spot' : ''} <span class="muted">$${a.candidate.hourlyPrice}/h</span></td>
            <td class="num">${a.nodes.length}</td>
            <td>${clock(a.startedAt)}</td>
            <td>${a.runningAt ? duration((a.endedAt ?? now) - a.runningAt) : '—'}</td>
            <td><span class=${`outcome oc-${kind}`}>${kind}</span> <span class="muted">${a.outcome?.reason ?? a.reason ?? ''}</span></td>
            <td class="num">${money(c.usd)}${c.estimated ? html` <span class="muted">so far</span>` : null}</td></tr>`;
        })}</tbody></table>` : null}
      <h2>Logs</h2>
      <${Logs} job=${job} attempts=${attempts} />
      <h2>Controller events</h2>
      <table class="grid events" data-testid="events">
        <thead><tr><th>Time</th><th>Task</th><th>Change</th><th>Why</th></tr></thead>
        <tbody>${events.map((e) => html`<tr><td>${clock(e.time)}</td><td class="num">${e.task ?? '—'}</td><td>${e.from || e.to ? html`${e.from ?? ''} → ${e.to ? html`<${StatusBadge} status=${e.to} />` : ''}` : ''}</td><td>${e.reason}</td></tr>`)}</tbody>
      </table>
      ${dialog === 'cancel' ? html`<${CancelDialog} job=${job} onClose=${() => setDialog()} onDone=${(msg) => (setDialog(), setNotice(msg), refresh())} />` : null}
      ${dialog === 'relaunch' ? html`<${RelaunchDialog} job=${job} onClose=${() => setDialog()} />` : null}
    </section>`;
}
