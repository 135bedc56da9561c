/**
 * Metric generation: per instance cpu_usage, memory_usage (fraction of the limit),
 * request_rate, error_rate, latency_p99_seconds, and db_connections_in_use for
 * database clients and databases. Normal values carry deterministic noise and a
 * daily trend; faults add their impact.
 */
import type { MetricSeries } from '../schemas/telemetry.js';
import type { Impact } from './effects.js';
import { hash, noise, uniform } from './random.js';
import type { ServiceDef } from './system.js';
import { dailyTrend, gridTimes, round, type World } from './world.js';

export const BASE_METRICS = ['cpu_usage', 'memory_usage', 'request_rate', 'error_rate', 'latency_p99_seconds'] as const;
export const DB_CONNECTIONS = 'db_connections_in_use';

/** At most this many points per series, like Prometheus. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** The metric names a service exposes. */
export function metricsOf(def: ServiceDef): string[] {
  return def.pool || def.maxConnections ? [...BASE_METRICS, DB_CONNECTIONS] : [...BASE_METRICS];
}

export interface MetricsQuery {
  start: number;
  end: number;
  step: number;
  service?: string | undefined;
  metric?: string | undefined;
}

/** Pool connections in use on one instance of a database client, before noise. */
function poolInUse(world: World, def: ServiceDef, t: number, impact: Impact): number {
  if (!def.pool) return 0;
  const replicas = Math.max(1, world.replicasAt(def.name, t));
  const load = (dailyTrend(t) * def.replicas) / replicas;
  const littles = 1 + (0.3 * impact.latency) / def.latencyP99;
  const normal = Math.min(def.pool.size, def.pool.inUse * load * littles);
  return normal + (def.pool.size - normal) * impact.poolSaturation;
}

/** Connections the database `db` holds at `t`, over all its instances. */
function databaseConnections(world: World, db: ServiceDef, t: number): number {
  let total = 4; // replication, monitoring
  for (const client of world.system.def.services) {
    if (client.pool?.database !== db.name) continue;
    const impact = world.effects.impact(world.sources, client.name, t);
    total += poolInUse(world, client, t, impact) * world.replicasAt(client.name, t);
  }
  return total;
}

export function queryMetrics(world: World, q: MetricsQuery): MetricSeries[] {
  const services = q.service ? [world.service(q.service)] : world.system.def.services;
  const expected = Math.floor((q.end - q.start) / q.step) + 1;
  if (expected > MAX_POINTS_PER_SERIES) {
    throw new RangeError(`the query would return ${expected} points per series (max ${MAX_POINTS_PER_SERIES}): raise step`);
  }
  const times = gridTimes(q.start, q.end, q.step);
  const out: MetricSeries[] = [];
  for (const def of services) {
    const names = metricsOf(def).filter((m) => !q.metric || m === q.metric);
    if (names.length === 0) continue;
    const series = new Map<string, MetricSeries>();
    for (const t of times) {
      const replicas = world.replicasAt(def.name, t);
      if (replicas === 0) continue;
      const impact = world.effects.impact(world.sources, def.name, t);
      const trend = dailyTrend(t);
      const dbTotal = def.maxConnections && names.includes(DB_CONNECTIONS) ? databaseConnections(world, def, t) : 0;
      for (let i = 0; i < replicas; i++) {
        const instance = world.instanceName(def.name, i);
        const skew = 0.92 + 0.16 * uniform(world.seed, def.name, instance, 'skew');
        for (const metric of names) {
          const key = `${instance}\u0000${metric}`;
          let s = series.get(key);
          if (!s) {
            s = { service: def.name, instance, metric, points: [] };
            series.set(key, s);
          }
          const n = noise(hash(world.seed, def.name, instance, metric), t);
          s.points.push([t, value({ world, def, metric, t, i, replicas, trend, skew, n, impact, dbTotal })]);
        }
      }
    }
    out.push(...[...series.values()].sort((a, b) => a.instance.localeCompare(b.instance) || a.metric.localeCompare(b.metric)));
  }
  return out;
}

interface PointContext {
  world: World;
  def: ServiceDef;
  metric: string;
  t: number;
  i: number;
  replicas: number;
  trend: number;
  skew: number;
  /** noise in [-1, 1] for this series and time */
  n: number;
  impact: Impact;
  dbTotal: number;
}

function value(c: PointContext): number {
  const { def, impact, n } = c;
  const load = (c.trend * def.replicas) / c.replicas;
  switch (c.metric) {
    case 'request_rate':
      return round(((def.requestRate * c.trend) / c.replicas) * c.skew * (1 + 0.06 * n) * (1 - 0.1 * impact.cpuSaturation), 3);
    case 'error_rate':
      return round(Math.min(1, def.errorRate * (1 + 0.5 * n) + impact.error * (1 + 0.08 * n)), 5);
    case 'latency_p99_seconds':
      return round(def.latencyP99 * (1 + 0.12 * n) * (1 + 0.3 * (c.trend - 1)) + impact.latency * (1 + 0.1 * n), 4);
    case 'cpu_usage': {
      const base = Math.min(0.95, def.cpu * load * c.skew * (1 + 0.08 * n) + impact.cpuAdd);
      const saturated = 0.97 + 0.02 * n;
      return round(Math.max(0.005, Math.min(1, base + (saturated - base) * impact.cpuSaturation)), 4);
    }
    case 'memory_usage':
      return round(Math.min(0.995, def.memory * (1 + 0.03 * n) + impact.memoryAdd * (1 + 0.02 * n)), 4);
    case 'db_connections_in_use': {
      if (def.pool) {
        const used = poolInUse(c.world, def, c.t, impact);
        const noisy = impact.poolSaturation > 0.98 ? def.pool.size : used * (1 + 0.15 * n);
        return Math.max(0, Math.min(def.pool.size, Math.round(noisy)));
      }
      const share = c.replicas === 1 ? 1 : c.i === 0 ? 0.75 : 0.25 / (c.replicas - 1);
      return Math.max(1, Math.round(c.dbTotal * share * (1 + 0.05 * n)));
    }
    default:
      return 0;
  }
}
