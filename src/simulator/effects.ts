/**
 * How faults change a service's indicators over time, on the faulty service and,
 * weaker and later, on its callers. Pure functions of the fault history: no state.
 */
import type { Episode, FaultKind } from './faults.js';
import type { ServiceDef, SystemIndex } from './system.js';
import { upstreamHops } from './system.js';

/** Seconds of delay per hop before a caller sees a callee's trouble. */
export const LAG_PER_HOP = 20;
/** Share of the callee's extra error rate that reaches its caller, per hop. */
export const ERROR_ATTENUATION = 0.5;
/** Share of the callee's extra latency that reaches its caller's p99, per hop. */
export const LATENCY_ATTENUATION = 0.6;

/** What a source of trouble acts through: an injected fault, or a service scaled to zero. */
export type EffectKind = FaultKind | 'outage';

/** Something that perturbs telemetry: a fault or an outage, at a root service, during episodes. */
export interface EffectSource {
  readonly kind: EffectKind;
  readonly service: string;
  readonly episodes: readonly Episode[];
  /** facts for log lines: the bad release, the flag, the database */
  readonly detail?: Readonly<Record<string, string>>;
}

/** Changes to one service's indicators at one time. */
export interface Impact {
  /** added error rate, 0..1 */
  error: number;
  /** added p99 latency, seconds */
  latency: number;
  /** weight, 0..1, pulling cpu toward saturation */
  cpuSaturation: number;
  /** added cpu usage */
  cpuAdd: number;
  /** added memory usage, fraction of the limit */
  memoryAdd: number;
  /** weight, 0..1, pulling the connection pool toward full */
  poolSaturation: number;
}

/** One cause acting on a service, for the log and trace generators. */
export interface Signal {
  readonly kind: EffectKind;
  readonly root: string;
  /** 0 on the faulty service, 1 on its direct callers, ... */
  readonly hops: number;
  /** strength 0..1 at this service (after lag and attenuation) */
  readonly intensity: number;
  readonly impact: Impact;
  readonly detail: Readonly<Record<string, string>>;
}

export const NO_IMPACT: Readonly<Impact> = { error: 0, latency: 0, cpuSaturation: 0, cpuAdd: 0, memoryAdd: 0, poolSaturation: 0 };

const clamp01 = (x: number): number => (x <= 0 ? 0 : x >= 1 ? 1 : x);

interface Profile {
  /** seconds to full strength (memory-leak: to full memory) */
  onset: number;
  /** seconds to fade out after the fix */
  recovery: number;
  /** progress grows linearly and freezes at the fix (leaks) rather than ramping */
  accumulates?: boolean;
  impact(a: number, def: ServiceDef): Impact;
}

const PROFILES: Record<EffectKind, Profile> = {
  'bad-release': {
    onset: 30,
    recovery: 30,
    impact: (a, d) => ({ ...NO_IMPACT, error: 0.35 * a, latency: d.latencyP99 * 0.6 * a, cpuAdd: 0.05 * a }),
  },
  'bad-flag': {
    onset: 10,
    recovery: 20,
    impact: (a, d) => ({ ...NO_IMPACT, error: 0.3 * a, latency: d.latencyP99 * 0.3 * a }),
  },
  'db-pool-exhaustion': {
    onset: 90,
    recovery: 30,
    impact: (a) => ({ ...NO_IMPACT, poolSaturation: a, latency: 4.6 * a, error: 0.22 * a }),
  },
  'cpu-saturation': {
    onset: 60,
    recovery: 45,
    impact: (a, d) => ({ ...NO_IMPACT, cpuSaturation: a, latency: d.latencyP99 * 5 * a, error: 0.04 * a }),
  },
  'network-latency': {
    onset: 20,
    recovery: 20,
    impact: (a) => ({ ...NO_IMPACT, latency: 1.2 * a, error: 0.06 * a }),
  },
  'memory-leak': {
    onset: 900,
    recovery: 10,
    accumulates: true,
    impact: (f, d) => ({
      ...NO_IMPACT,
      memoryAdd: (0.97 - d.memory) * f,
      latency: d.latencyP99 * 2 * f * f,
      cpuAdd: 0.15 * f * f,
      error: f > 0.8 ? (0.3 * (f - 0.8)) / 0.2 : 0,
    }),
  },
  outage: {
    onset: 5,
    recovery: 15,
    impact: (a) => ({ ...NO_IMPACT, error: a }),
  },
};

/** Strength 0..1 of a source at time t on its own service. */
export function intensity(kind: EffectKind, episodes: readonly Episode[], t: number): number {
  const p = PROFILES[kind];
  let best = 0;
  for (const e of episodes) {
    if (t < e.from) continue;
    let a: number;
    if (p.accumulates) {
      const until = e.to === null ? t : Math.min(t, e.to);
      a = clamp01((until - e.from) / p.onset);
    } else {
      a = clamp01((t - e.from) / p.onset);
    }
    if (e.to !== null && t > e.to) a *= 1 - clamp01((t - e.to) / p.recovery);
    best = Math.max(best, a);
  }
  return best;
}

/** Combine impacts: error rates as independent failures, latencies add, weights take the max. */
export function combine(a: Impact, b: Impact): Impact {
  return {
    error: 1 - (1 - a.error) * (1 - b.error),
    latency: a.latency + b.latency,
    cpuSaturation: Math.max(a.cpuSaturation, b.cpuSaturation),
    cpuAdd: a.cpuAdd + b.cpuAdd,
    memoryAdd: a.memoryAdd + b.memoryAdd,
    poolSaturation: Math.max(a.poolSaturation, b.poolSaturation),
  };
}

/** Evaluates sources against a system; caches the upstream map of each root. */
export class EffectCalculator {
  private readonly hopsCache = new Map<string, Map<string, number>>();

  constructor(private readonly index: SystemIndex) {}

  private hopsFrom(root: string): Map<string, number> {
    let h = this.hopsCache.get(root);
    if (!h) {
      h = upstreamHops(this.index, root);
      this.hopsCache.set(root, h);
    }
    return h;
  }

  /** Every cause acting on `service` at `t`, own faults first. */
  signals(sources: readonly EffectSource[], service: string, t: number, options: { ownOnly?: boolean } = {}): Signal[] {
    const out: Signal[] = [];
    for (const s of sources) {
      const hops = s.service === service ? 0 : options.ownOnly ? undefined : this.hopsFrom(s.service).get(service);
      if (hops === undefined) continue;
      const rootDef = this.index.byName.get(s.service);
      if (!rootDef) continue;
      const a = intensity(s.kind, s.episodes, t - hops * LAG_PER_HOP);
      if (a <= 0) continue;
      const root = PROFILES[s.kind].impact(a, rootDef);
      const impact: Impact =
        hops === 0
          ? root
          : { ...NO_IMPACT, error: root.error * ERROR_ATTENUATION ** hops, latency: root.latency * LATENCY_ATTENUATION ** hops };
      const strength = hops === 0 ? a : a * LATENCY_ATTENUATION ** hops;
      out.push({ kind: s.kind, root: s.service, hops, intensity: strength, impact, detail: s.detail ?? {} });
    }
    return out.sort((x, y) => x.hops - y.hops);
  }

  /** The callee of `caller` on the way to `root` (root itself for a direct caller). */
  nextHop(caller: string, root: string): string {
    const hops = this.hopsFrom(root);
    const mine = hops.get(caller);
    if (mine === undefined || mine === 0) return root;
    return (this.index.callees.get(caller) ?? []).find((c) => hops.get(c) === mine - 1) ?? root;
  }

  /** The combined impact on `service` at `t`. */
  impact(sources: readonly EffectSource[], service: string, t: number, options: { ownOnly?: boolean } = {}): Impact {
    let acc: Impact = NO_IMPACT;
    for (const s of this.signals(sources, service, t, options)) acc = combine(acc, s.impact);
    return acc;
  }
}
