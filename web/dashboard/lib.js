// Shared pieces of the dashboard page: the API helper (it talks only to the dashboard's own /api,
// which forwards to the skyless API), polling with back-off, formatting, and small components.
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

export class ApiErr extends Error {
  constructor(status, error, message) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

/** Calls the dashboard's /api; throws ApiErr with the API's own error name and message. */
export async function api(path, { method = 'GET', body } = {}) {
  let res;
  try {
    res = await fetch(`/api${path}`, {
      method,
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiErr(0, 'DashboardDown', `the dashboard server did not answer (${err.message})`);
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { message: text };
  }
  if (!res.ok) throw new ApiErr(res.status, data.error ?? `HTTP${res.status}`, data.message ?? `HTTP ${res.status}`);
  return data;
}

/** What went wrong, said for a person: a title and what to do. */
export function explain(err) {
  if (!(err instanceof ApiErr)) return { title: 'Something went wrong', text: String(err?.message ?? err) };
  switch (true) {
    case err.status === 0:
      return { title: 'The dashboard is not answering', text: `${err.message}. Was \`skyless dashboard\` stopped? Start it again and open the URL it prints.` };
    case err.error === 'Unreachable':
      return { title: 'The skyless API cannot be reached', text: `${err.message}. For the embedded control plane run \`skyless local status\`; for AWS check \`skyless config\` and your network. This page keeps retrying.` };
    case err.status === 401 && err.error === 'Unauthorized' && /skyless dashboard/.test(err.message):
      return { title: 'This page has no session', text: err.message };
    case err.status === 401 || err.status === 403:
      return { title: `The API refused this request (${err.status})`, text: `${err.message}. Your identity (AWS credentials or the local token) may not do this.` };
    case err.status === 404:
      return { title: 'Not found', text: err.message };
    default:
      return { title: `The API answered ${err.status || ''} ${err.error}`, text: err.message };
  }
}

export function ErrorBox({ err, compact }) {
  if (!err) return null;
  const e = explain(err);
  return html`<div class=${`error-box${compact ? ' compact' : ''}`} role="alert" data-testid="error">
    <strong>${e.title}</strong><span>${e.text}</span>
  </div>`;
}

/**
 * Calls `load` now and every `everyMs` while mounted; after a failure waits twice as long each time
 * (up to 30 s) and keeps the last good data. A new `key` restarts it; answers of an older key are
 * dropped. `stop(data)` true ends polling (a finished job).
 */
export function usePoll(load, key, everyMs, stop) {
  const [state, setState] = useState({ data: undefined, error: undefined, at: undefined });
  const gen = useRef(0);
  const kick = useRef(() => {});
  useEffect(() => {
    const my = ++gen.current;
    let timer;
    let delay = everyMs;
    setState({ data: undefined, error: undefined, at: undefined });
    const run = async () => {
      clearTimeout(timer);
      let data;
      try {
        data = await load();
        if (gen.current !== my) return;
        delay = everyMs;
        setState({ data, error: undefined, at: Date.now() });
      } catch (error) {
        if (gen.current !== my) return;
        delay = Math.min(delay * 2, 30_000);
        setState((s) => ({ ...s, error }));
      }
      if (gen.current !== my) return;
      if (data !== undefined && stop?.(data)) return;
      timer = setTimeout(run, delay);
    };
    kick.current = run;
    run();
    return () => {
      gen.current++;
      clearTimeout(timer);
    };
  }, [key]);
  return { ...state, refresh: () => kick.current() };
}

export const STATUS_CLASS = {
  PENDING: 'pending', STARTING: 'starting', RUNNING: 'running', RECOVERING: 'recovering', CANCELLING: 'cancelling',
  SUCCEEDED: 'succeeded', CANCELLED: 'cancelled', FAILED: 'failed', FAILED_SETUP: 'failed', FAILED_PRECHECKS: 'failed',
  FAILED_NO_RESOURCE: 'failed', FAILED_CONTROLLER: 'failed',
};
export const STATUSES = Object.keys(STATUS_CLASS);

export function StatusBadge({ status }) {
  return html`<span class=${`badge st-${STATUS_CLASS[status] ?? 'pending'}`} data-status=${status}>${status}</span>`;
}

export function money(usd) {
  if (usd === undefined || usd === null) return '—';
  if (usd === 0) return '$0';
  if (usd < 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2)}`;
}

export function duration(ms) {
  if (ms === undefined || ms === null || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const hh = Math.floor(m / 60);
  if (hh < 48) return `${hh}h ${m % 60}m`;
  return `${Math.floor(hh / 24)}d ${hh % 24}h`;
}

export function ago(ms, now = Date.now()) {
  if (!ms) return '—';
  const d = now - ms;
  return d < 5_000 ? 'just now' : `${duration(d)} ago`;
}

export function clock(ms) {
  return ms ? new Date(ms).toLocaleString(undefined, { hour12: false }) : '—';
}

/** Cost so far of one attempt: final when ended, else price × nodes × time since launch. */
export function attemptCost(a, now = Date.now()) {
  if (a.costUsd !== undefined && a.state === 'ENDED') return { usd: a.costUsd, estimated: false };
  const hours = Math.max(0, (a.endedAt ?? now) - a.startedAt) / 3_600_000;
  return { usd: (a.candidate?.hourlyPrice ?? 0) * Math.max(1, a.nodes?.length ?? 1) * hours, estimated: true };
}

/** The job's cost: recorded task costs plus live attempts so far. */
export function jobCost(job, attempts = []) {
  const recorded = job.tasks.reduce((s, t) => s + (t.costUsd ?? 0), 0);
  const live = attempts.filter((a) => a.state !== 'ENDED').reduce((s, a) => s + attemptCost(a).usd, 0);
  return { usd: recorded + live, estimated: live > 0 };
}

export function outcomeOf(a) {
  if (!a.outcome) return a.state === 'ENDED' ? 'ENDED' : a.state;
  return a.outcome.kind;
}

/** The current hash route: path parts and query. */
export function useRoute() {
  const read = () => {
    const raw = location.hash.replace(/^#/, '') || '/jobs';
    const [path, qs] = raw.split('?');
    return { parts: path.split('/').filter(Boolean), query: new URLSearchParams(qs ?? '') };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function navigate(path, query) {
  const qs = query && [...query].length ? `?${query}` : '';
  location.hash = `#${path}${qs}`;
}
