// Shared by the recovery e2e files (issue 4): reading a job's attempts, logs and controller log
// through the real API, and waiting for what the scenarios assert.
import { join } from 'node:path';
import type { E2E, JobLike } from './harness.ts';
import type { AttemptRecord, JobEvent } from '../../core/job/records.ts';
import type { LogChunk } from '../../core/usecases/read.ts';

export async function jobAndAttempts(e: E2E, id: number): Promise<{ job: JobLike; attempts: AttemptRecord[] }> {
  return e.api<{ job: JobLike; attempts: AttemptRecord[] }>('GET', `/jobs/${id}`);
}

/** Regions of the job's attempts, in attempt order (what the table in the issue calls "regions used"). */
export async function regionsUsed(e: E2E, id: number): Promise<string[]> {
  const { attempts } = await jobAndAttempts(e, id);
  return [...attempts].sort((a, b) => a.taskIndex - b.taskIndex || a.attempt - b.attempt).map((a) => a.candidate.region);
}

export async function controllerEvents(e: E2E, id: number): Promise<JobEvent[]> {
  return (await e.api<{ events: JobEvent[] }>('GET', `/jobs/${id}/events`)).events;
}

/** Every log chunk of the job (all attempts), oldest first. */
export async function logChunks(e: E2E, id: number): Promise<LogChunk[]> {
  const out: LogChunk[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await e.api<{ chunks: LogChunk[]; position?: string }>('GET', `/jobs/${id}/logs${after ? `?after=${after}` : ''}`);
    out.push(...page.chunks);
    if (!page.chunks.length) return out;
    after = page.position;
  }
}

/** Output of one attempt (all nodes, in order). */
export function attemptOutput(chunks: LogChunk[], attempt: number, task = 0): string {
  return chunks.filter((c) => c.task === task && c.attempt === attempt).map((c) => c.text).join('');
}

/** The `TASK_ID=...` values each attempt printed, by attempt number. */
export function taskIdsByAttempt(chunks: LogChunk[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const c of chunks) for (const m of c.text.matchAll(/^TASK_ID=(\S+)$/gm)) out.set(c.attempt, [...(out.get(c.attempt) ?? []), m[1]]);
  return out;
}

/** Polls until the attempt's output contains `text` (the agent ships logs every heartbeat or so). */
export async function waitForOutput(e: E2E, id: number, attempt: number, text: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (attemptOutput(await logChunks(e, id), attempt).includes(text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} attempt ${attempt} did not print '${text}' within ${timeoutMs} ms`);
}

/** Status changes of task 0, as `FROM → TO` strings, in order. */
export function transitions(events: JobEvent[]): string[] {
  return events.filter((ev) => ev.to && ev.task === 0).map((ev) => `${ev.from} → ${ev.to}`);
}

/** Waits until no process of the home's local instances is alive (teardown is asynchronous to the status). */
export async function waitNoProcesses(e: E2E, timeoutMs = 60_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let live = e.liveInstanceProcesses();
  while (live.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    live = e.liveInstanceProcesses();
  }
  return live;
}

export const finished = (j: JobLike) => j.finished && j.finalizedAt !== undefined;
