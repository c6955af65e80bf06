import type { Clock } from '../../core/ports.ts';

/** A Clock that moves only when told to: makes time-dependent behaviour (expiry, ordering) exact. */
export class ManualClock implements Clock {
  constructor(private ms = Date.UTC(2025, 0, 1)) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`ManualClock.advance: ms must be >= 0, got ${ms}`);
    this.ms += ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }
}
