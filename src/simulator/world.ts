/**
 * The read-only view of the simulation that telemetry generators need: the system,
 * the seed, the replica history and the sources of trouble. The model implements it;
 * generators are pure functions of it and of the queried window.
 */
import type { EffectCalculator, EffectSource } from './effects.js';
import type { ServiceDef, SystemIndex } from './system.js';

export interface World {
  readonly seed: number;
  readonly system: SystemIndex;
  readonly effects: EffectCalculator;
  /** faults and outages, with their episodes */
  readonly sources: readonly EffectSource[];
  /** replica count of `service` at `t` (0 when scaled to zero) */
  replicasAt(service: string, t: number): number;
  /** names of the instances of `service` at `t` */
  instancesAt(service: string, t: number): string[];
  /** name of instance `i` of `service` */
  instanceName(service: string, i: number): string;
  /** the definition of a known service; throws UnknownServiceError otherwise */
  service(name: string): ServiceDef;
}

/** Daily load curve: about ±20%, peaking in the afternoon UTC. */
export function dailyTrend(t: number): number {
  return 1 + 0.2 * Math.sin((2 * Math.PI * (t - 8 * 3600)) / 86_400);
}

/** Timestamps of a range query: multiples of `step` inside [start, end]. */
export function gridTimes(start: number, end: number, step: number): number[] {
  const out: number[] = [];
  const first = Math.ceil(start / step) * step;
  for (let k = 0; ; k++) {
    const t = first + k * step;
    if (t > end + 1e-9) break;
    out.push(Math.round(t * 1000) / 1000);
  }
  return out;
}

export const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};
