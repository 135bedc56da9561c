/**
 * Scores of an evaluation run, as the published results state them: AC@k (share of
 * cases whose true root-cause service is among the first k of the ranking) and Avg@5
 * (mean of AC@1..AC@5), the same definitions as ../shared/datasets/score.py (a ranking
 * is read in order; a repeated service counts at its first position; a case without
 * a result is a miss). Plus the calibration of the reasoner's confidence against
 * the concluded root cause being right (top-1): expected calibration error over equal-width bins, the reliability
 * table, and accuracy on either side of the checkpoint threshold. Pure.
 */

export interface ScoredCase {
  id: string;
  /** Services in ranking order; empty for a failed case. */
  ranking: string[];
  truth: string;
  faultType?: string | undefined;
  /** The reasoner's confidence; null for a failed case (counted as 0). */
  confidence: number | null;
  /** The root cause the reasoner concluded (an LLM reasoner may differ from ranking[0]); absent: ranking[0]. */
  rootCause?: string | null | undefined;
}

export interface Accuracy {
  n: number;
  'AC@1': number;
  'AC@2': number;
  'AC@3': number;
  'AC@4': number;
  'AC@5': number;
  'Avg@5': number;
}

/** 1-based position of `truth` in `ranking` (first occurrence), or null. */
export function rankOf(truth: string, ranking: readonly string[]): number | null {
  const i = ranking.indexOf(truth);
  return i < 0 ? null : i + 1;
}

export function accuracy(cases: readonly Pick<ScoredCase, 'ranking' | 'truth'>[]): Accuracy {
  const n = cases.length;
  const ranks = cases.map((c) => rankOf(c.truth, c.ranking));
  const ac = (k: number) => (n === 0 ? 0 : ranks.filter((r) => r !== null && r <= k).length / n);
  const a = { n, 'AC@1': ac(1), 'AC@2': ac(2), 'AC@3': ac(3), 'AC@4': ac(4), 'AC@5': ac(5) };
  return { ...a, 'Avg@5': (a['AC@1'] + a['AC@2'] + a['AC@3'] + a['AC@4'] + a['AC@5']) / 5 };
}

/** Accuracy per truth fault type (cases without one under '?'), sorted by type. */
export function accuracyByFaultType(cases: readonly ScoredCase[]): Record<string, Accuracy> {
  const groups = new Map<string, ScoredCase[]>();
  for (const c of cases) {
    const k = c.faultType ?? '?';
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  return Object.fromEntries([...groups.keys()].sort().map((k) => [k, accuracy(groups.get(k) ?? [])]));
}

export interface ReliabilityBin {
  /** e.g. "0.5-0.6"; the last bin includes 1.0. */
  bin: string;
  lo: number;
  hi: number;
  count: number;
  /** null for an empty bin. */
  meanConfidence: number | null;
  /** Top-1 accuracy of the cases in the bin; null for an empty bin. */
  accuracy: number | null;
}

export interface Calibration {
  n: number;
  /** Expected calibration error: Σ (count_b / n) · |accuracy_b − meanConfidence_b|. */
  ece: number;
  meanConfidence: number;
  top1Accuracy: number;
  bins: ReliabilityBin[];
  /** Cases at or above the checkpoint threshold (no person asked for confidence reasons) and below it. */
  threshold: { value: number; atOrAbove: { count: number; accuracy: number | null }; below: { count: number; accuracy: number | null } };
}

/**
 * Calibration of `confidence` against top-1 correctness over `bins` equal-width bins.
 * @param threshold the policy's confidence threshold. @default 0.6
 */
export function calibration(cases: readonly ScoredCase[], bins = 10, threshold = 0.6): Calibration {
  const pts = cases.map((c) => ({ c: Math.max(0, Math.min(1, c.confidence ?? 0)), ok: (c.rootCause === undefined ? c.ranking[0] : c.rootCause) === c.truth }));
  const n = pts.length;
  const table: ReliabilityBin[] = [];
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const lo = b / bins;
    const hi = (b + 1) / bins;
    const inBin = pts.filter((p) => Math.min(bins - 1, Math.floor(p.c * bins)) === b);
    const count = inBin.length;
    const meanConfidence = count ? inBin.reduce((s, p) => s + p.c, 0) / count : null;
    const acc = count ? inBin.filter((p) => p.ok).length / count : null;
    if (count && meanConfidence !== null && acc !== null) ece += (count / n) * Math.abs(acc - meanConfidence);
    table.push({ bin: `${lo.toFixed(1)}-${hi.toFixed(1)}`, lo, hi, count, meanConfidence, accuracy: acc });
  }
  const side = (keep: (c: number) => boolean) => {
    const sel = pts.filter((p) => keep(p.c));
    return { count: sel.length, accuracy: sel.length ? sel.filter((p) => p.ok).length / sel.length : null };
  };
  return {
    n,
    ece,
    meanConfidence: n ? pts.reduce((s, p) => s + p.c, 0) / n : 0,
    top1Accuracy: n ? pts.filter((p) => p.ok).length / n : 0,
    bins: table,
    threshold: { value: threshold, atOrAbove: side((c) => c >= threshold), below: side((c) => c < threshold) },
  };
}
