/**
 * The simulator's state: services, injected faults, remediation history. Pure and
 * in-memory; time comes from an injected clock. Telemetry is a pure function of
 * (seed, time, faults, remediation history), so any window can be generated at any
 * moment, and the same seed and history give the same data.
 */
import { z } from 'zod';
import {
  ActionAbortInput,
  ActionCommitInput,
  ActionOutput,
  ActionPrepareInput,
  FeatureFlagSetInput,
  PreparedAction,
  type ActionAbortOutput,
  type PreparableAction,
  LogsSearchInput,
  MetricsQueryRangeInput,
  ReleaseRollbackInput,
  ServiceRestartInput,
  ServiceScaleInput,
  ServiceState,
  TopologyGetInput,
  TracesSearchInput,
  type LogsSearchOutput,
  type MetricsQueryRangeOutput,
  type TracesSearchOutput,
} from '../schemas/capabilities.js';
import type { ChangeEvent, Topology } from '../schemas/telemetry.js';
import { EffectCalculator, type EffectSource } from './effects.js';
import {
  IdempotencyConflictError,
  InjectedFailureError,
  InvalidActionError,
  InvalidFaultError,
  InvalidInputError,
  InvalidQueryError,
  PreparedStaleError,
  PreparedStateError,
  UnknownServiceError,
} from './errors.js';
import { PreparedActionBook } from './prepared-actions.js';
import { Fault, FAULT_KINDS, FaultInjection, type Episode } from './faults.js';
import { searchLogs } from './logs.js';
import { queryMetrics } from './metrics.js';
import { round } from './world.js';
import { seedNumber } from './random.js';
import { indexSystem, instanceName, SHOP_SYSTEM, type ServiceDef, type SystemDef, type SystemIndex } from './system.js';
import { searchTraces } from './traces.js';
import type { World } from './world.js';

/** Longest window logs and traces are generated for in one query. */
export const MAX_EVENT_WINDOW_SECONDS = 24 * 3600;

export interface SimulatorModelOptions {
  /** Seed of every generated value. @default 1 */
  seed?: number | string;
  /** Clock in Unix epoch seconds. @default () => Date.now() / 1000 */
  now?: () => number;
  /** Time the benign prior changes are dated from. @default now() at construction */
  anchor?: number;
  /** The system to simulate. @default SHOP_SYSTEM */
  system?: SystemDef;
}

/** A service's mutable state: the contract's ServiceState plus what telemetry needs. */
type ServiceRuntime = ServiceState & {
  replicaHistory: { at: number; replicas: number }[];
  releaseHistory: string[];
};

type ActionKind = 'restart' | 'scale' | 'rollback' | 'flag';

interface ActionRecord {
  fingerprint: string;
  output: ActionOutput;
}

/** A validated action: what it will do and how it is applied. */
interface Operation {
  kind: ActionKind;
  service: string;
  args: Record<string, string | number | boolean>;
  expected(before: ServiceState): ServiceState;
  summary(before: ServiceState): string;
  apply(s: ServiceRuntime, at: number, key: string): string;
}

/** Parse `input` with `schema` or throw InvalidInputError naming the fields. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const fields = [...new Set(r.error.issues.map((i) => i.path.join('.') || '(root)'))];
  throw new InvalidInputError(`invalid ${fields.join(', ')}: ${z.prettifyError(r.error)}`, fields);
}

/** `name@1.14.3` -> `name@1.15.0` (a new minor release). */
function nextRelease(release: string, taken: readonly string[]): string {
  const at = release.lastIndexOf('@');
  const name = at >= 0 ? release.slice(0, at) : release;
  const parts = (at >= 0 ? release.slice(at + 1) : '0.0.0').split('.').map((p) => Number.parseInt(p, 10) || 0);
  let candidate = release;
  for (let bump = 1; candidate === release || taken.includes(candidate); bump++) {
    const v = parts.map((p, i) => (i === 1 ? p + bump : i > 1 ? 0 : p));
    if (v.length < 2) v.push(bump);
    candidate = `${name}@${v.join('.')}`;
  }
  return candidate;
}

export class SimulatorModel implements World {
  readonly seed: number;
  readonly anchor: number;
  readonly system: SystemIndex;
  readonly effects: EffectCalculator;
  private readonly clock: () => number;
  private readonly state = new Map<string, ServiceRuntime>();
  private readonly faultList: Fault[] = [];
  private readonly faultActionCounts = new Map<string, number>();
  private readonly changeLog: ChangeEvent[] = [];
  private readonly actions = new Map<string, ActionRecord>();
  private readonly failed = new Map<string, { fingerprint: string; error: InjectedFailureError }>();
  private readonly applied = new Map<string, number>();
  private readonly requests = new Map<string, number>();
  private readonly names = new Map<string, string>();
  private readonly prepared = new PreparedActionBook();
  private sourcesCache: EffectSource[] | undefined;

  constructor(options: SimulatorModelOptions = {}) {
    this.seed = seedNumber(options.seed ?? 1);
    this.clock = options.now ?? (() => Date.now() / 1000);
    this.anchor = options.anchor ?? this.now();
    this.system = indexSystem(options.system ?? SHOP_SYSTEM);
    this.effects = new EffectCalculator(this.system);
    for (const def of this.system.def.services) {
      this.state.set(def.name, {
        service: def.name,
        replicas: def.replicas,
        release: def.release,
        previousRelease: def.previousRelease,
        flags: { ...def.flags },
        restarts: 0,
        replicaHistory: [],
        releaseHistory: [def.previousRelease, def.release].filter((r): r is string => r !== null),
      });
    }
    for (const c of this.system.def.priorChanges) {
      this.changeLog.push({ service: c.service, kind: c.kind, at: round(this.anchor - c.age, 3), description: c.description, ...(c.release ? { release: c.release } : {}) });
    }
  }

  /** Current time, epoch seconds (millisecond precision). */
  now(): number {
    return round(this.clock(), 3);
  }

  // ---- World ----

  service(name: string): ServiceDef {
    const def = this.system.byName.get(name);
    if (!def) throw new UnknownServiceError(name, [...this.system.byName.keys()]);
    return def;
  }

  private runtime(name: string): ServiceRuntime {
    this.service(name);
    const s = this.state.get(name);
    if (!s) throw new UnknownServiceError(name, [...this.system.byName.keys()]);
    return s;
  }

  get sources(): readonly EffectSource[] {
    if (this.sourcesCache) return this.sourcesCache;
    const out: EffectSource[] = this.faultList.map((f) => ({
      kind: f.kind,
      service: f.service,
      episodes: f.episodes,
      detail: {
        ...(f.badRelease ? { release: f.badRelease } : {}),
        ...(f.flag ? { flag: f.flag } : {}),
      },
    }));
    for (const [service, s] of this.state) {
      const episodes: Episode[] = [];
      for (const h of s.replicaHistory) {
        const open = episodes.at(-1);
        if (h.replicas === 0 && (!open || open.to !== null)) episodes.push({ from: h.at, to: null });
        if (h.replicas > 0 && open && open.to === null) open.to = h.at;
      }
      if (episodes.length > 0) out.push({ kind: 'outage', service, episodes });
    }
    this.sourcesCache = out;
    return out;
  }

  replicasAt(service: string, t: number): number {
    const s = this.runtime(service);
    let replicas = this.service(service).replicas;
    for (const h of s.replicaHistory) {
      if (h.at > t) break;
      replicas = h.replicas;
    }
    return replicas;
  }

  instanceName(service: string, i: number): string {
    const key = `${service}#${i}`;
    let name = this.names.get(key);
    if (name === undefined) {
      name = instanceName(this.seed, this.service(service), i);
      this.names.set(key, name);
    }
    return name;
  }

  instancesAt(service: string, t: number): string[] {
    const n = this.replicasAt(service, t);
    return Array.from({ length: n }, (_, i) => this.instanceName(service, i));
  }

  // ---- telemetry ----

  /** Clip a query window to now; throw on an inverted or (for events) too long window. */
  private window(start: number, end: number, maxSeconds?: number): { start: number; end: number } | undefined {
    if (start > end) throw new InvalidQueryError(`start (${start}) is after end (${end})`);
    const clipped = Math.min(end, this.now());
    if (maxSeconds !== undefined && clipped - start > maxSeconds) {
      throw new InvalidQueryError(`window of ${Math.round(clipped - start)} s is longer than ${maxSeconds} s: narrow it`);
    }
    return start > clipped ? undefined : { start, end: clipped };
  }

  queryMetrics(input: z.input<typeof MetricsQueryRangeInput>): MetricsQueryRangeOutput {
    const q = parseInput(MetricsQueryRangeInput, input);
    if (q.service) this.service(q.service);
    const w = this.window(q.start, q.end);
    if (!w) return { series: [] };
    try {
      return { series: queryMetrics(this, { ...q, ...w }) };
    } catch (e) {
      if (e instanceof RangeError) throw new InvalidQueryError(e.message);
      throw e;
    }
  }

  searchLogs(input: z.input<typeof LogsSearchInput>): LogsSearchOutput {
    const q = parseInput(LogsSearchInput, input);
    if (q.service) this.service(q.service);
    const w = this.window(q.start, q.end, MAX_EVENT_WINDOW_SECONDS);
    if (!w) return { logs: [], truncated: false };
    try {
      return searchLogs(this, { ...q, ...w });
    } catch (e) {
      if (e instanceof RangeError) throw new InvalidQueryError(e.message);
      throw e;
    }
  }

  searchTraces(input: z.input<typeof TracesSearchInput>): TracesSearchOutput {
    const q = parseInput(TracesSearchInput, input);
    if (q.service) this.service(q.service);
    const w = this.window(q.start, q.end, MAX_EVENT_WINDOW_SECONDS);
    if (!w) return { spans: [], truncated: false };
    return searchTraces(this, { ...q, ...w });
  }

  /** Services, call graph, current instances, and changes up to now (at or after `since`). */
  topology(input: z.input<typeof TopologyGetInput> = {}): Topology {
    const q = parseInput(TopologyGetInput, input);
    const now = this.now();
    return {
      services: this.system.def.services.map((s) => ({ name: s.name, kind: s.kind, instances: this.instancesAt(s.name, now) })),
      edges: this.system.def.edges.map((e) => ({ ...e })),
      changes: this.changeLog
        .filter((c) => c.at <= now && (q.since === undefined || c.at >= q.since))
        .sort((a, b) => a.at - b.at)
        .map((c) => ({ ...c })),
    };
  }

  /** Names and kinds of the simulated services. */
  services(): { name: string; kind: ServiceDef['kind'] }[] {
    return this.system.def.services.map((s) => ({ name: s.name, kind: s.kind }));
  }

  // ---- state and remediation ----

  getState(service: string): ServiceState {
    const s = this.runtime(service);
    return ServiceState.parse({
      service: s.service,
      replicas: s.replicas,
      release: s.release,
      previousRelease: s.previousRelease,
      flags: { ...s.flags },
      restarts: s.restarts,
    });
  }

  /** Rolling restart. Fixes db-pool-exhaustion, network-latency and memory-leak in that service. */
  restart(service: string, idempotencyKey: string): ActionOutput {
    const input = parseInput(ServiceRestartInput, { service, idempotencyKey });
    return this.perform(this.operation({ service: input.service, action: 'restart' }), input.idempotencyKey);
  }

  /** Set the replica count. Fixes cpu-saturation when above the count at fault time; 0 is an outage. */
  scale(service: string, replicas: number, idempotencyKey: string): ActionOutput {
    const input = parseInput(ServiceScaleInput, { service, replicas, idempotencyKey });
    return this.perform(this.operation({ service: input.service, action: 'scale', replicas: input.replicas }), input.idempotencyKey);
  }

  /** Deploy a release the service ran before. Ends bad-release faults unless it is the bad release. */
  rollback(service: string, toRelease: string, idempotencyKey: string): ActionOutput {
    const input = parseInput(ReleaseRollbackInput, { service, toRelease, idempotencyKey });
    return this.perform(this.operation({ service: input.service, action: 'rollback', toRelease: input.toRelease }), input.idempotencyKey);
  }

  /** Set a feature flag. Turning off the flag of a bad-flag fault ends it; turning it on again restarts it. */
  setFlag(service: string, flag: string, enabled: boolean, idempotencyKey: string): ActionOutput {
    const input = parseInput(FeatureFlagSetInput, { service, flag, enabled, idempotencyKey });
    return this.perform(this.operation({ service: input.service, action: 'set_flag', flag: input.flag, enabled: input.enabled }), input.idempotencyKey);
  }

  // ---- two-phase actions ----

  /**
   * Validate and stage an action without changing anything: resolves what it will do
   * (the release it deploys, the replica count, the flag value), reserves the action on
   * the service until it is committed, aborted or expires, and returns a handle. The same
   * key returns the same handle.
   */
  prepare(input: z.input<typeof ActionPrepareInput>): PreparedAction {
    const q = parseInput(ActionPrepareInput, input);
    this.requests.set(q.idempotencyKey, (this.requests.get(q.idempotencyKey) ?? 0) + 1);
    const now = this.now();
    const fingerprint = JSON.stringify({ service: q.service, action: q.action, replicas: q.replicas, toRelease: q.toRelease, flag: q.flag, enabled: q.enabled, ttlSeconds: q.ttlSeconds });
    const seen = this.prepared.existing(q.idempotencyKey, fingerprint);
    if (seen) {
      this.prepared.count(seen.prepared.handle, 'prepare');
      return this.prepared.view(seen, now, true);
    }
    const op = this.operation(q);
    this.prepared.reserve(q.service, q.action, now);
    const before = this.getState(q.service);
    const handle = `prep-${this.prepared.size + 1}-${q.service}-${q.action}`;
    const prepared = PreparedAction.parse({
      handle,
      idempotencyKey: q.idempotencyKey,
      replayed: false,
      service: q.service,
      action: q.action,
      parameters: op.args,
      status: 'prepared',
      preparedAt: now,
      expiresAt: round(now + q.ttlSeconds, 3),
      before,
      expected: op.expected(before),
      summary: op.summary(before),
    });
    this.prepared.add(prepared, fingerprint);
    this.prepared.count(handle, 'prepare');
    return structuredClone(prepared);
  }

  /**
   * Carry out a prepared action, once per idempotency key. Refused when the handle is
   * unknown, expired or aborted, or when what it was validated against has changed.
   */
  commit(input: z.input<typeof ActionCommitInput>): ActionOutput {
    const q = parseInput(ActionCommitInput, input);
    const entry = this.prepared.entry(q.handle);
    this.prepared.count(q.handle, 'commit');
    const now = this.now();
    this.prepared.checkCommittable(entry, q.idempotencyKey, now);
    const p = entry.prepared;
    if (this.prepared.status(entry, now) === 'prepared') {
      const current = this.getState(p.service);
      if (p.action === 'rollback' && current.release !== p.before.release) {
        this.requests.set(q.idempotencyKey, (this.requests.get(q.idempotencyKey) ?? 0) + 1);
        throw new PreparedStaleError(q.handle, `${p.service} runs ${current.release}, not ${p.before.release} as when it was prepared`);
      }
      if (p.action === 'scale' && current.replicas !== p.before.replicas) {
        this.requests.set(q.idempotencyKey, (this.requests.get(q.idempotencyKey) ?? 0) + 1);
        throw new PreparedStaleError(q.handle, `${p.service} has ${current.replicas} replicas, not ${p.before.replicas} as when it was prepared`);
      }
    }
    const output = this.perform(this.operation({ service: p.service, action: p.action, ...p.parameters }), q.idempotencyKey);
    this.prepared.markCommitted(entry, q.idempotencyKey);
    return output;
  }

  /** Release a prepared action so it can never be committed. Idempotent; a committed one is refused (undo it instead). */
  abort(input: z.input<typeof ActionAbortInput>): ActionAbortOutput {
    const q = parseInput(ActionAbortInput, input);
    this.prepared.count(q.handle, 'abort');
    if (!this.prepared.has(q.handle)) return { handle: q.handle, status: 'unknown', replayed: false, message: `no prepared action ${q.handle}: nothing is held` };
    const entry = this.prepared.entry(q.handle);
    const status = this.prepared.status(entry, this.now());
    if (status === 'committed') throw new PreparedStateError(q.handle, 'was committed: it cannot be aborted; undo it with its compensation');
    if (status === 'aborted') return { handle: q.handle, status: 'aborted', replayed: true, message: `${q.handle} was aborted already (${entry.abortReason ?? ''})` };
    if (status === 'expired') {
      return { handle: q.handle, status: 'expired', replayed: false, message: `${q.handle} expired at ${new Date(entry.prepared.expiresAt * 1000).toISOString()}: nothing is held` };
    }
    this.prepared.markAborted(entry, q.reason);
    return { handle: q.handle, status: 'aborted', replayed: false, message: `released ${entry.prepared.summary}: ${q.reason}` };
  }

  /** Every prepared action, its status, and how often each phase was requested. */
  preparedActions(): ReturnType<PreparedActionBook['list']> {
    return this.prepared.list(this.now());
  }

  /**
   * One action, validated: its fingerprint arguments, what it would leave behind, its
   * description, and how it is applied. Throws when it cannot be carried out.
   */
  private operation(q: { service: string; action: PreparableAction; replicas?: number | undefined; toRelease?: string | undefined; flag?: string | undefined; enabled?: boolean | undefined }): Operation {
    const { service } = q;
    const s = this.runtime(service);
    switch (q.action) {
      case 'restart':
        return {
          kind: 'restart',
          service,
          args: {},
          expected: (b) => ({ ...b, restarts: b.restarts + 1 }),
          summary: (b) => `rolling restart of ${service} (${b.replicas} pods)`,
          apply: (rt, at, key) => {
            rt.restarts += 1;
            this.record({ service, kind: 'restart', at, description: `rolling restart of ${service} (${rt.replicas} pods)` });
            this.resolve(service, at, key, (f) => f.kind === 'db-pool-exhaustion' || f.kind === 'network-latency' || f.kind === 'memory-leak');
            return `restarted ${service}: ${rt.replicas} pods replaced`;
          },
        };
      case 'scale': {
        const replicas = q.replicas;
        if (replicas === undefined) throw new InvalidActionError(`scale of ${service} needs replicas`);
        return {
          kind: 'scale',
          service,
          args: { replicas },
          expected: (b) => ({ ...b, replicas }),
          summary: (b) => `scale ${service} from ${b.replicas} to ${replicas} replicas`,
          apply: (rt, at, key) => {
            const from = rt.replicas;
            if (from === replicas) return `${service} already has ${from} replicas`;
            rt.replicas = replicas;
            rt.replicaHistory.push({ at, replicas });
            this.record({ service, kind: 'scale', at, description: `scale ${service} from ${from} to ${replicas} replicas` });
            this.resolve(service, at, key, (f) => f.kind === 'cpu-saturation' && replicas > f.replicasAtStart);
            return `scaled ${service} from ${from} to ${replicas} replicas`;
          },
        };
      }
      case 'rollback': {
        const to = q.toRelease;
        if (to === undefined) throw new InvalidActionError(`rollback of ${service} needs toRelease`);
        if (!s.releaseHistory.includes(to)) throw new InvalidActionError(`release "${to}" of ${service} is unknown; known releases: ${s.releaseHistory.join(', ')}`);
        return {
          kind: 'rollback',
          service,
          args: { toRelease: to },
          expected: (b) => (b.release === to ? b : { ...b, release: to, previousRelease: b.release }),
          summary: (b) => (b.release === to ? `${service} already runs ${to}: nothing to deploy` : `deploy ${to} to ${service} (replacing ${b.release})`),
          apply: (rt, at, key) => {
            const from = rt.release;
            if (from === to) return `${service} already runs ${from}`;
            rt.previousRelease = from;
            rt.release = to;
            this.record({ service, kind: 'deploy', at, release: to, description: `deploy ${to} (from ${from}) by remediation` });
            this.resolve(service, at, key, (f) => f.kind === 'bad-release' && f.badRelease !== to);
            this.reopen(service, at, (f) => f.kind === 'bad-release' && f.badRelease === to);
            return `deployed ${to} to ${service} (was ${from})`;
          },
        };
      }
      case 'set_flag': {
        const { flag, enabled } = q;
        if (flag === undefined || enabled === undefined) throw new InvalidActionError(`set_flag of ${service} needs flag and enabled`);
        if (!(flag in s.flags)) throw new InvalidActionError(`${service} has no flag "${flag}"; its flags: ${Object.keys(s.flags).join(', ') || '(none)'}`);
        return {
          kind: 'flag',
          service,
          args: { flag, enabled },
          expected: (b) => ({ ...b, flags: { ...b.flags, [flag]: enabled } }),
          summary: (b) => `set flag ${flag} of ${service} from ${String(b.flags[flag])} to ${String(enabled)}`,
          apply: (rt, at, key) => {
            if (rt.flags[flag] === enabled) return `${service} flag ${flag} already ${enabled ? 'on' : 'off'}`;
            rt.flags[flag] = enabled;
            this.record({ service, kind: 'flag', at, description: `flag ${flag} set to ${enabled} on ${service}` });
            if (enabled) this.reopen(service, at, (f) => f.kind === 'bad-flag' && f.flag === flag);
            else this.resolve(service, at, key, (f) => f.kind === 'bad-flag' && f.flag === flag);
            return `set flag ${flag} to ${enabled} on ${service}`;
          },
        };
      }
    }
  }

  private perform(op: Operation, key: string): ActionOutput {
    return this.act(op.kind, key, op.service, op.args, (s, at) => op.apply(s, at, key));
  }

  /**
   * Run an action once per idempotency key: replays return the recorded result, a key
   * reused with other arguments is refused, and a fault's `failStep` fails its step.
   */
  private act(
    kind: ActionKind,
    key: string,
    service: string,
    args: Record<string, unknown>,
    apply: (s: ServiceRuntime, at: number) => string,
  ): ActionOutput {
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const fingerprint = JSON.stringify({ kind, service, ...args });
    const done = this.actions.get(key);
    if (done) {
      if (done.fingerprint !== fingerprint) throw new IdempotencyConflictError(key);
      return { ...structuredClone(done.output), replayed: true };
    }
    const failedBefore = this.failed.get(key);
    if (failedBefore) {
      if (failedBefore.fingerprint !== fingerprint) throw new IdempotencyConflictError(key);
      throw failedBefore.error;
    }
    const s = this.runtime(service);
    const at = this.now();
    for (const f of this.faultList) {
      if (f.failStep === null || f.startedAt > at) continue;
      const step = (this.faultActionCounts.get(f.id) ?? 0) + 1;
      this.faultActionCounts.set(f.id, step);
      if (step === f.failStep) {
        const error = new InjectedFailureError(f.id, step, key);
        this.failed.set(key, { fingerprint, error });
        throw error;
      }
    }
    const before = this.getState(service);
    const message = apply(s, at);
    this.sourcesCache = undefined;
    const output = ActionOutput.parse({ ok: true, idempotencyKey: key, replayed: false, before, after: this.getState(service), message });
    this.actions.set(key, { fingerprint, output: structuredClone(output) });
    this.applied.set(key, (this.applied.get(key) ?? 0) + 1);
    return output;
  }

  private record(change: ChangeEvent): void {
    this.changeLog.push(change);
  }

  /** End the open episode of each matching fault of `service` at `at`. */
  private resolve(service: string, at: number, by: string, matches: (f: Fault) => boolean): void {
    for (const f of this.faultList) {
      if (f.service !== service || !matches(f)) continue;
      const open = f.episodes.find((e) => e.to === null && e.from <= at);
      if (!open) continue;
      open.to = at;
      f.status = 'resolved';
      f.resolvedAt = at;
      f.resolvedBy = by;
    }
    this.sourcesCache = undefined;
  }

  /** Start a new episode of each matching resolved fault (the faulty release or flag is back). */
  private reopen(service: string, at: number, matches: (f: Fault) => boolean): void {
    for (const f of this.faultList) {
      if (f.service !== service || !matches(f) || f.episodes.some((e) => e.to === null)) continue;
      f.episodes.push({ from: at, to: null });
      f.status = 'active';
      f.resolvedAt = null;
      f.resolvedBy = null;
    }
    this.sourcesCache = undefined;
  }

  // ---- faults ----

  /** Inject a fault; returns its id. Throws InvalidInputError, UnknownServiceError or InvalidFaultError. */
  inject(input: z.input<typeof FaultInjection>): string {
    const spec = parseInput(FaultInjection, input);
    const def = this.system.byName.get(spec.service);
    if (!def) throw new InvalidFaultError(`unknown service "${spec.service}"; known services: ${[...this.system.byName.keys()].join(', ')}`, 'service');
    const s = this.runtime(spec.service);
    const startedAt = round(spec.startedAt ?? this.now(), 3);
    const id = `flt-${this.faultList.length + 1}`;
    const info = FAULT_KINDS.find((k) => k.kind === spec.kind);
    const fault: Fault = {
      id,
      kind: spec.kind,
      service: spec.service,
      startedAt,
      failStep: spec.failStep ?? null,
      status: 'active',
      episodes: [{ from: startedAt, to: null }],
      resolvedAt: null,
      resolvedBy: null,
      fix: info?.fix ?? '',
      replicasAtStart: s.replicas,
    };
    if (spec.kind === 'db-pool-exhaustion' && !def.pool) {
      const withPools = this.system.def.services.filter((d) => d.pool).map((d) => d.name);
      throw new InvalidFaultError(`${spec.service} has no database pool; db-pool-exhaustion applies to ${withPools.join(', ')}`, 'service');
    }
    if (spec.kind === 'bad-flag') {
      const flag = Object.keys(s.flags).sort().find((f) => s.flags[f] === false);
      if (!flag) throw new InvalidFaultError(`${spec.service} has no feature flag that is off`, 'service');
      fault.flag = flag;
      s.flags[flag] = true;
      this.record({ service: spec.service, kind: 'flag', at: startedAt, description: `flag ${flag} set to true on ${spec.service}` });
    }
    if (spec.kind === 'bad-release') {
      const release = nextRelease(s.release, s.releaseHistory);
      fault.badRelease = release;
      this.record({ service: spec.service, kind: 'deploy', at: startedAt, release, description: `deploy ${release} (from ${s.release})` });
      s.previousRelease = s.release;
      s.release = release;
      s.releaseHistory.push(release);
    }
    this.faultList.push(Fault.parse(fault));
    this.faultActionCounts.set(id, 0);
    this.sourcesCache = undefined;
    return id;
  }

  /** Every fault injected so far, active or resolved, with its episodes. */
  faults(): Fault[] {
    return structuredClone(this.faultList);
  }

  /** One fault by id. */
  fault(id: string): Fault | undefined {
    const f = this.faultList.find((x) => x.id === id);
    return f ? structuredClone(f) : undefined;
  }

  /**
   * End every active fault now (resolvedBy "cleared"). History is kept: telemetry
   * before now still shows the faults. Returns how many were ended.
   */
  clearFaults(): number {
    const at = this.now();
    let n = 0;
    for (const f of this.faultList) {
      const open = f.episodes.find((e) => e.to === null);
      if (!open) continue;
      open.to = Math.max(at, open.from);
      f.status = 'resolved';
      f.resolvedAt = open.to;
      f.resolvedBy = 'cleared';
      n++;
    }
    this.sourcesCache = undefined;
    return n;
  }

  /** Idempotency key -> times the action really ran (0 or 1: replays do not count). */
  callCounts(): Record<string, number> {
    return Object.fromEntries(this.applied);
  }

  /** Idempotency key -> times it was requested (replays and failures included). */
  requestCounts(): Record<string, number> {
    return Object.fromEntries(this.requests);
  }
}
