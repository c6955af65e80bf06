// Logs of one task: all attempts or one, followed live (the API's `after` position makes each poll
// return only new chunks) and downloadable whole. The page keeps at most MAX_CHARS of text, dropping
// the oldest, so a chatty job cannot grow the tab's memory without bound.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html, api, ErrorBox } from './lib.js';

const MAX_CHARS = 2_000_000;

export function Logs({ job, attempts }) {
  const [task, setTask] = useState(job.currentTask ?? 0);
  const [attempt, setAttempt] = useState('');
  const [follow, setFollow] = useState(!job.finished);
  const [chunks, setChunks] = useState([]);
  const [dropped, setDropped] = useState(0);
  const [error, setError] = useState();
  const [done, setDone] = useState(false);
  const pre = useRef();
  useEffect(() => {
    let alive = true;
    let timer;
    let after;
    let delay = 1000;
    let held = [];
    let heldChars = 0;
    let cut = 0;
    setChunks([]);
    setDropped(0);
    setDone(false);
    setError(undefined);
    const poll = async () => {
      try {
        const q = new URLSearchParams({ task: String(task) });
        if (after) q.set('after', after);
        const page = await api(`/jobs/${job.jobId}/logs?${q}`);
        if (!alive) return;
        delay = 1000;
        setError(undefined);
        if (page.position) after = page.position;
        if (page.chunks.length) {
          held = held.concat(page.chunks.map((c) => ({ attempt: c.attempt, node: c.node, text: c.text })));
          heldChars += page.chunks.reduce((s, c) => s + c.text.length, 0);
          while (heldChars > MAX_CHARS && held.length > 1) {
            heldChars -= held[0].text.length;
            cut += held[0].text.length;
            held = held.slice(1);
          }
          setChunks(held);
          setDropped(cut);
        }
        if (page.complete) return setDone(true);
        if (page.chunks.length) timer = setTimeout(poll, 0);
        else if (follow) timer = setTimeout(poll, delay);
      } catch (err) {
        if (!alive) return;
        setError(err);
        delay = Math.min(delay * 2, 30_000);
        timer = setTimeout(poll, delay);
      }
    };
    poll();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [job.jobId, task, follow]);
  const shown = attempt === '' ? chunks : chunks.filter((c) => String(c.attempt) === attempt);
  const text = shown.map((c) => c.text).join('');
  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, follow]);
  const taskAttempts = attempts.filter((a) => a.taskIndex === task).map((a) => a.attempt).sort((a, b) => a - b);
  const dl = new URLSearchParams({ task: String(task) });
  if (attempt !== '') dl.set('attempt', attempt);
  return html`
    <div class="logs">
      <div class="logs-bar">
        ${job.tasks.length > 1 ? html`<label>Task <select name="log-task" value=${String(task)} onChange=${(e) => (setTask(Number(e.currentTarget.value)), setAttempt(''))}>${job.tasks.map((t) => html`<option value=${String(t.index)}>${t.index}: ${t.name}</option>`)}</select></label>` : null}
        <label>Attempt <select name="log-attempt" value=${attempt} onChange=${(e) => setAttempt(e.currentTarget.value)}><option value="">all</option>${taskAttempts.map((n) => html`<option value=${String(n)}>#${n}</option>`)}</select></label>
        <label class="check"><input type="checkbox" name="follow" checked=${follow} onChange=${(e) => setFollow(e.currentTarget.checked)} /> follow</label>
        <span class="muted">${done ? 'complete' : follow ? 'following…' : ''}</span>
        <a class="button" href=${`/api/jobs/${job.jobId}/logs.txt?${dl}`} download>Download</a>
      </div>
      <${ErrorBox} err=${error} compact />
      ${dropped ? html`<p class="muted">(${dropped.toLocaleString()} earlier characters not shown; Download has everything)</p>` : null}
      <pre ref=${pre} data-testid="log-text">${text || (done ? '(no output)' : 'waiting for output…')}</pre>
    </div>`;
}
