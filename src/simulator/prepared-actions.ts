/**
 * The simulator's book of prepared (two-phase) actions: handles, their expiry, the
 * reservation each holds on its service and action, and how often each phase was
 * asked for. Pure bookkeeping: the model validates, dry-runs and applies.
 */
import type { PreparedAction } from '../schemas/capabilities.js';
import { PreparedConflictError, PreparedStateError, UnknownPreparedError } from './errors.js';

interface Entry {
  prepared: PreparedAction;
  /** What the prepare call asked for: a key reused with other arguments is refused. */
  fingerprint: string;
  committedBy: string | null;
  abortReason: string | null;
}

/** Requests per phase for one prepared handle (replays and failures included). */
export interface PhaseCounts {
  prepare: number;
  commit: number;
  abort: number;
}

export class PreparedActionBook {
  private readonly byHandle = new Map<string, Entry>();
  private readonly byKey = new Map<string, string>();
  private readonly counts = new Map<string, PhaseCounts>();

  /** The handle a prepare key made before, if any (after checking the key's arguments match). */
  existing(key: string, fingerprint: string): Entry | undefined {
    const handle = this.byKey.get(key);
    const e = handle === undefined ? undefined : this.byHandle.get(handle);
    if (e && e.fingerprint !== fingerprint) throw new PreparedConflictError(`idempotency key "${key}" already prepared another action (${e.prepared.summary})`);
    return e;
  }

  /** Refuses a second open preparation of the same action on the same service (the reservation). */
  reserve(service: string, action: string, now: number): void {
    for (const e of this.byHandle.values()) {
      if (e.prepared.service !== service || e.prepared.action !== action) continue;
      if (this.status(e, now) !== 'prepared') continue;
      throw new PreparedConflictError(
        `${action} of ${service} is already prepared as ${e.prepared.handle} (key ${e.prepared.idempotencyKey}) until ${new Date(e.prepared.expiresAt * 1000).toISOString()}: commit or abort it first`,
      );
    }
  }

  add(prepared: PreparedAction, fingerprint: string): void {
    this.byHandle.set(prepared.handle, { prepared, fingerprint, committedBy: null, abortReason: null });
    this.byKey.set(prepared.idempotencyKey, prepared.handle);
  }

  get size(): number {
    return this.byHandle.size;
  }

  count(handle: string, phase: keyof PhaseCounts): void {
    const c = this.counts.get(handle) ?? { prepare: 0, commit: 0, abort: 0 };
    c[phase] += 1;
    this.counts.set(handle, c);
  }

  /** The entry of a handle; unknown handles are refused. */
  entry(handle: string): Entry {
    const e = this.byHandle.get(handle);
    if (!e) throw new UnknownPreparedError(handle);
    return e;
  }

  has(handle: string): boolean {
    return this.byHandle.has(handle);
  }

  status(e: Entry, now: number): PreparedAction['status'] {
    if (e.committedBy !== null) return 'committed';
    if (e.abortReason !== null) return 'aborted';
    return now >= e.prepared.expiresAt ? 'expired' : 'prepared';
  }

  /** The prepared action as it stands now (status brought up to date). */
  view(e: Entry, now: number, replayed = false): PreparedAction {
    return { ...structuredClone(e.prepared), status: this.status(e, now), replayed };
  }

  /** Throws unless the handle may be committed now (with this key). */
  checkCommittable(e: Entry, key: string, now: number): void {
    const status = this.status(e, now);
    if (status === 'committed' && e.committedBy !== key) throw new PreparedStateError(e.prepared.handle, `was already committed with key ${e.committedBy ?? '?'}`);
    if (status === 'aborted') throw new PreparedStateError(e.prepared.handle, `was aborted (${e.abortReason ?? ''}): prepare again`);
    if (status === 'expired') {
      throw new PreparedStateError(e.prepared.handle, `expired at ${new Date(e.prepared.expiresAt * 1000).toISOString()}: prepare again and have it approved again`);
    }
  }

  markCommitted(e: Entry, key: string): void {
    e.committedBy = key;
  }

  markAborted(e: Entry, reason: string): void {
    e.abortReason = reason;
  }

  /** Every prepared action with its current status and how often each phase was requested. */
  list(now: number): (PreparedAction & { committedBy: string | null; abortReason: string | null; requests: PhaseCounts })[] {
    return [...this.byHandle.values()].map((e) => ({
      ...this.view(e, now),
      committedBy: e.committedBy,
      abortReason: e.abortReason,
      requests: { ...(this.counts.get(e.prepared.handle) ?? { prepare: 0, commit: 0, abort: 0 }) },
    }));
  }
}
