/**
 * SLI drift: compares each SLI's rate over a recent window with its rate over the
 * baseline window just before it, and says which moved beyond their rule. Pure: the
 * samples and "now" come in, verdicts go out (DriftMonitor keeps samples and alerts).
 */
import type { DriftRule, SliName } from './config.js';

/** One closed incident's SLI values (1/0 for rates; an SLI that does not apply is absent). */
export interface SliSample {
  /** When the incident closed, epoch seconds. */
  at: number;
  incidentId?: string;
  values: Partial<Record<SliName, number>>;
}

export interface DriftSettings {
  baselineSeconds: number;
  recentSeconds: number;
  minSamples: number;
  rules: Partial<Record<SliName, DriftRule>>;
  defaultRule: DriftRule;
}

export interface WindowStat {
  /** Mean of the SLI over the window's applicable samples; null with none. */
  value: number | null;
  samples: number;
}

export interface DriftVerdict {
  sli: SliName;
  baseline: WindowStat;
  recent: WindowStat;
  /** (recent - baseline) / baseline; +/-Infinity from a zero baseline; null without data. */
  relativeChange: number | null;
  drifted: boolean;
  /** Why (not): "insufficient samples", "within threshold", "beyond threshold". */
  reason: string;
}

function stat(samples: readonly SliSample[], sli: SliName): WindowStat {
  let sum = 0;
  let n = 0;
  for (const s of samples) {
    const v = s.values[sli];
    if (v === undefined || !Number.isFinite(v)) continue;
    sum += v;
    n += 1;
  }
  return { value: n > 0 ? sum / n : null, samples: n };
}

/** Verdicts for every SLI in `slis`, windows ending at `now` (epoch seconds). */
export function detectDrift(samples: readonly SliSample[], settings: DriftSettings, now: number, slis: readonly SliName[]): DriftVerdict[] {
  const recentStart = now - settings.recentSeconds;
  const baselineStart = recentStart - settings.baselineSeconds;
  const recent = samples.filter((s) => s.at > recentStart && s.at <= now);
  const baseline = samples.filter((s) => s.at > baselineStart && s.at <= recentStart);
  return slis.map((sli) => {
    const rule = settings.rules[sli] ?? settings.defaultRule;
    const b = stat(baseline, sli);
    const r = stat(recent, sli);
    if (b.value === null || r.value === null || b.samples < settings.minSamples || r.samples < settings.minSamples) {
      const relativeChange = b.value !== null && r.value !== null ? relative(b.value, r.value) : null;
      return { sli, baseline: b, recent: r, relativeChange, drifted: false, reason: `insufficient samples (baseline ${b.samples}, recent ${r.samples}, need ${settings.minSamples})` };
    }
    const delta = r.value - b.value;
    const relativeChange = relative(b.value, r.value);
    const directionOk = rule.direction === 'both' || (rule.direction === 'up' ? delta > 0 : delta < 0);
    const beyond = directionOk && Math.abs(delta) >= rule.absoluteChange && Math.abs(relativeChange) >= rule.relativeChange;
    return {
      sli,
      baseline: b,
      recent: r,
      relativeChange,
      drifted: beyond,
      reason: beyond ? 'beyond threshold' : 'within threshold',
    };
  });
}

function relative(baseline: number, recent: number): number {
  if (baseline === 0) return recent === 0 ? 0 : recent > 0 ? Infinity : -Infinity;
  return (recent - baseline) / baseline;
}

/** Drops samples older than both windows. */
export function pruneSamples(samples: readonly SliSample[], settings: Pick<DriftSettings, 'baselineSeconds' | 'recentSeconds'>, now: number): SliSample[] {
  const oldest = now - settings.recentSeconds - settings.baselineSeconds;
  return samples.filter((s) => s.at > oldest);
}

/** A line a person reads (webhook text). */
export function describeVerdict(v: DriftVerdict): string {
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  const change = v.relativeChange === null ? 'n/a' : Number.isFinite(v.relativeChange) ? `${v.relativeChange >= 0 ? '+' : ''}${(v.relativeChange * 100).toFixed(0)}%` : 'from zero';
  return `${v.sli} ${pct(v.recent.value)} over the recent window (${v.recent.samples} incidents) vs ${pct(v.baseline.value)} baseline (${v.baseline.samples}): ${change}`;
}
