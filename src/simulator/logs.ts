/**
 * Log generation: a few INFO lines per service every 10 seconds, and under trouble
 * WARN/ERROR lines from realistic templates: the faulty service's own symptoms, and
 * its callers' upstream errors. Deterministic per 10-second bucket.
 */
import type { LogRecord } from '../schemas/telemetry.js';
import type { Signal } from './effects.js';
import { hash, hexId, pick, unit, uniform } from './random.js';
import { operationsOf, type ServiceDef } from './system.js';
import { round, type World } from './world.js';

export const LOG_BUCKET_SECONDS = 10;

/** Numeric severity of a level name, for "minimum level" filters. */
export const LEVELS: Readonly<Record<string, number>> = {
  trace: 5, debug: 10, info: 20, notice: 25, warn: 30, warning: 30, error: 40, err: 40, fatal: 50, critical: 50,
};

export function levelValue(level: string): number | undefined {
  return LEVELS[level.toLowerCase()];
}

export interface LogsQuery {
  start: number;
  end: number;
  service?: string | undefined;
  level?: string | undefined;
  contains?: string | undefined;
  limit: number;
}

/** A deterministic stream of uniforms for one log line. */
type Rand = (label: string) => number;


const ip = (r: Rand, label: string): string => `10.0.${Math.floor(r(`${label}-a`) * 16)}.${2 + Math.floor(r(`${label}-b`) * 250)}`;
const ms = (r: Rand, label: string, lo: number, hi: number): number => Math.round(lo + (hi - lo) * r(label));
const reqId = (r: Rand): string => Math.floor(r('req') * 0xffffffff).toString(16).padStart(8, '0');
const opOf = (def: ServiceDef, r: Rand): string => pick(operationsOf(def), r('op'));

function infoLine(def: ServiceDef, r: Rand): string {
  const s = def.name;
  switch (def.kind) {
    case 'database':
      return pick(
        [
          `${s}: checkpoint complete: wrote ${ms(r, 'buf', 80, 2400)} buffers (${(r('pct') * 3).toFixed(1)}%); write=${(r('w') * 25).toFixed(3)} s`,
          `${s}: automatic vacuum of table "${pick(['orders', 'charges', 'stock', 'products'], r('tbl'))}": index scans: 1, tuples: ${ms(r, 'tup', 10, 900)} removed`,
          `${s}: duration: ${(r('dur') * 12).toFixed(3)} ms  statement: COMMIT`,
        ],
        r('tpl'),
      );
    case 'cache':
      return pick(
        [
          `${s}: ${ms(r, 'keys', 20, 400)} keys expired in the last 10 s, used_memory=${ms(r, 'mem', 380, 420)}M`,
          `${s}: DB 0: ${ms(r, 'k', 41000, 43000)} keys (${ms(r, 'v', 600, 900)} volatile)`,
        ],
        r('tpl'),
      );
    case 'queue':
      return `${s}: queue orders: published=${ms(r, 'p', 90, 140)} delivered=${ms(r, 'd', 90, 140)} ready=${ms(r, 'q', 0, 6)} unacked=${ms(r, 'u', 0, 4)}`;
    default:
      if (s === 'checkout' && r('special') < 0.4)
        return `${s}: order ord_${hexId(hash(0, r('o')), 5)} placed (items=${ms(r, 'i', 1, 6)} total=${(10 + r('t') * 190).toFixed(2)} EUR)`;
      if (s === 'payment' && r('special') < 0.4)
        return `${s}: charge ch_${hexId(hash(0, r('c')), 6)} captured (amount=${(10 + r('t') * 190).toFixed(2)} EUR, network=${pick(['visa', 'mastercard', 'amex'], r('n'))})`;
      return `${s}: ${opOf(def, r)} ${pick([200, 200, 200, 201, 204], r('st'))} in ${ms(r, 'ms', 3, Math.max(20, def.latencyP99 * 600))}ms (request_id=${reqId(r)})`;
  }
}

interface Line {
  level: 'warn' | 'error';
  message: string;
  traced?: boolean;
}

function ownFaultLine(world: World, def: ServiceDef, sig: Signal, r: Rand): Line | undefined {
  const s = def.name;
  const op = opOf(def, r);
  const rid = reqId(r);
  switch (sig.kind) {
    case 'bad-release': {
      const rel = sig.detail['release'] ?? def.release;
      return pick<Line>(
        [
          { level: 'error', message: `${s}: unhandled exception in ${op}: TypeError: Cannot read properties of undefined (reading '${pick(['network', 'currency', 'lineItems', 'address'], r('f'))}') (release=${rel}, request_id=${rid})`, traced: true },
          { level: 'error', message: `${s}: ${op} 500 Internal Server Error in ${ms(r, 'ms', 8, 60)}ms (release=${rel}, request_id=${rid})`, traced: true },
          { level: 'warn', message: `${s}: response validation failed for ${op}: missing field "${pick(['id', 'status', 'amount'], r('f'))}" (release=${rel})` },
        ],
        r('tpl'),
      );
    }
    case 'bad-flag': {
      const flag = sig.detail['flag'] ?? 'unknown';
      return pick<Line>(
        [
          { level: 'error', message: `${s}: ${op} failed in flag path ${flag}: upstream rejected request: 400 invalid_request_version (request_id=${rid})`, traced: true },
          { level: 'warn', message: `${s}: feature ${flag} enabled for ${ms(r, 'pct', 95, 100)}% of traffic; error budget burn ${ms(r, 'burn', 8, 30)}x` },
        ],
        r('tpl'),
      );
    }
    case 'db-pool-exhaustion': {
      const db = def.pool?.database ?? 'db';
      const size = def.pool?.size ?? 10;
      const waiting = ms(r, 'w', 5, 60);
      return pick<Line>(
        [
          { level: 'error', message: `${s}: timeout acquiring connection from pool ${db} after 5000ms (active=${size} idle=0 waiting=${waiting})`, traced: true },
          { level: 'warn', message: `${s}: connection pool ${db} saturated: ${size}/${size} in use, ${waiting} requests waiting` },
          { level: 'error', message: `${s}: ${op} 503 Service Unavailable in ${ms(r, 'ms', 5001, 5090)}ms: connection pool exhausted (request_id=${rid})`, traced: true },
        ],
        r('tpl'),
      );
    }
    case 'cpu-saturation':
      return pick<Line>(
        [
          { level: 'warn', message: `${s}: event loop lag ${ms(r, 'lag', 300, 1800)}ms exceeds 200ms` },
          { level: 'warn', message: `${s}: request queue depth ${ms(r, 'q', 120, 900)} exceeds threshold 100` },
          { level: 'error', message: `${s}: ${op} timed out after 3000ms in handler (request_id=${rid})`, traced: true },
        ],
        r('tpl'),
      );
    case 'network-latency': {
      const callee = pick(world.system.callees.get(s) ?? ['kube-dns'], r('callee'));
      const addr = ip(r, 'ip');
      return pick<Line>(
        [
          { level: 'warn', message: `${s}: slow response from ${callee} (${addr}:${callee.endsWith('-db') ? 5432 : 8080}) took ${ms(r, 'ms', 900, 2600)}ms` },
          { level: 'error', message: `${s}: connect ETIMEDOUT ${addr}:${callee.endsWith('-db') ? 5432 : 8080} (${callee})`, traced: true },
          { level: 'warn', message: `${s}: tcp retransmits high on eth0: ${ms(r, 'rt', 40, 400)} in last 10s` },
        ],
        r('tpl'),
      );
    }
    case 'memory-leak': {
      const f = sig.intensity;
      if (f < 0.4) return undefined;
      const limit = 2048;
      const heap = Math.round(limit * Math.min(0.99, 0.4 + 0.6 * f));
      if (f < 0.8 || r('oom') < 0.5) return { level: 'warn', message: `${s}: GC pause ${ms(r, 'gc', 150 + 400 * f, 400 + 900 * f)}ms (heap ${heap}MiB / ${limit}MiB)` };
      return pick<Line>(
        [
          { level: 'error', message: `${s}: FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory` },
          { level: 'error', message: `${s}: ${op} 500 Internal Server Error: worker restarted after OOM, request dropped (request_id=${rid})`, traced: true },
        ],
        r('tpl'),
      );
    }
    case 'outage':
      return undefined;
  }
}

function callerLine(world: World, def: ServiceDef, sig: Signal, r: Rand, trace: string): Line {
  const s = def.name;
  const callee = world.effects.nextHop(s, sig.root);
  if (sig.kind === 'outage' && sig.hops === 1)
    return { level: 'error', message: `${s}: call to ${callee} failed: connect ECONNREFUSED ${ip(r, 'ip')}:8080 (no healthy upstream) (trace=${trace})`, traced: true };
  const slow = sig.impact.latency > 0.5 && sig.impact.latency * 0.1 > sig.impact.error;
  if (slow) {
    return pick<Line>(
      [
        { level: 'warn', message: `${s}: call to ${callee} slow: ${ms(r, 'ms', 1200, 2900)}ms (timeout 3000ms) (trace=${trace})`, traced: true },
        { level: 'error', message: `${s}: upstream ${callee} timed out after 3000ms (trace=${trace})`, traced: true },
      ],
      r('tpl'),
    );
  }
  return pick<Line>(
    [
      { level: 'error', message: `${s}: call to ${callee} failed: 503 Service Unavailable (trace=${trace})`, traced: true },
      { level: 'error', message: `${s}: call to ${callee} failed: 500 Internal Server Error (trace=${trace})`, traced: true },
      { level: 'warn', message: `${s}: retrying call to ${callee} (attempt 2/3) after 5xx (trace=${trace})`, traced: true },
    ],
    r('tpl'),
  );
}

/** All log lines of one service in one 10-second bucket. */
function bucketLines(world: World, def: ServiceDef, bucket: number): LogRecord[] {
  const t0 = bucket * LOG_BUCKET_SECONDS;
  const instances = world.instancesAt(def.name, t0);
  if (instances.length === 0) return [];
  const out: LogRecord[] = [];
  const base = hash(world.seed, 'log', def.name, bucket);
  const line = (n: number): { r: Rand; timestamp: number; instance: string } => {
    const h = hash(base, n);
    const r: Rand = (label) => uniform(h, label);
    return { r, timestamp: round(t0 + unit(h) * LOG_BUCKET_SECONDS, 3), instance: pick(instances, r('instance')) };
  };
  let n = 0;
  const infos = 1 + (uniform(base, 'infos') < 0.6 ? 1 : 0);
  for (let i = 0; i < infos; i++, n++) {
    const { r, timestamp, instance } = line(n);
    out.push({ timestamp, service: def.name, instance, level: 'info', message: infoLine(def, r) });
  }
  for (const sig of world.effects.signals(world.sources, def.name, t0 + LOG_BUCKET_SECONDS / 2)) {
    const count = Math.floor(3.5 * sig.intensity + uniform(base, 'count', sig.root, sig.kind));
    for (let i = 0; i < count; i++, n++) {
      const { r, timestamp, instance } = line(n);
      const trace = hexId(base, 16, 'trace', n);
      const l = sig.hops === 0 ? ownFaultLine(world, def, sig, r) : callerLine(world, def, sig, r, trace);
      if (!l) continue;
      out.push({
        timestamp,
        service: def.name,
        instance,
        level: l.level,
        message: l.message,
        ...(l.traced ? { trace_id: trace, span_id: hexId(base, 8, 'span', n) } : {}),
      });
    }
  }
  return out;
}

export function searchLogs(world: World, q: LogsQuery): { logs: LogRecord[]; truncated: boolean } {
  const services = q.service ? [world.service(q.service)] : world.system.def.services;
  const minLevel = q.level === undefined ? undefined : levelValue(q.level);
  if (q.level !== undefined && minLevel === undefined) {
    throw new RangeError(`unknown level "${q.level}": use one of ${Object.keys(LEVELS).join(', ')}`);
  }
  const needle = q.contains?.toLowerCase();
  const all: LogRecord[] = [];
  const first = Math.floor(q.start / LOG_BUCKET_SECONDS);
  const last = Math.floor(q.end / LOG_BUCKET_SECONDS);
  for (const def of services) {
    for (let b = first; b <= last; b++) {
      for (const rec of bucketLines(world, def, b)) {
        if (rec.timestamp < q.start || rec.timestamp > q.end) continue;
        if (minLevel !== undefined && (levelValue(rec.level ?? 'info') ?? 0) < minLevel) continue;
        if (needle && !rec.message.toLowerCase().includes(needle)) continue;
        all.push(rec);
      }
    }
  }
  all.sort((a, b) => a.timestamp - b.timestamp || a.service.localeCompare(b.service));
  const truncated = all.length > q.limit;
  return { logs: truncated ? all.slice(all.length - q.limit) : all, truncated };
}
