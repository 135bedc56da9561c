/**
 * The accuracy SLIs: how often vigil's diagnosis named the root cause the incident
 * commander confirmed afterwards (`vigil close <id> --root-cause S [--helpful|--not-helpful]`),
 * computed over the incidents that closed within a rolling window. Pure: no clock, no I/O.
 *
 * Per labelled incident, vigil's answer is what it inferred (`inference.rootCause`), not
 * the root cause acted on: a person's override during the incident is the person's
 * answer, so confirming it afterwards does not count as vigil being right. The ranking
 * scored for top-k is the diagnosis's: the inferred root cause first, then the other
 * candidates in their order (for the built-in reasoner, which concludes the first
 * candidate, this is the candidate ranking), so top-1 ≤ top-3 ≤ top-5 always holds.
 * Calibration reuses `vigil eval`'s definitions (src/eval/scoring.ts).
 */
import type { IncidentStatus } from '../schemas/incident.js';
import { calibration, rankOf, type ReliabilityBin } from '../eval/scoring.js';

/** A ratio and how many incidents it was computed over; `value` is null without samples. */
export interface Rate {
  value: number | null;
  samples: number;
}

export interface DiagnosisScore {
  incidentId: string;
  /** The last timeline entry's time (when the incident closed). */
  closedAt: string;
  labelled: boolean;
  /** It has an inference or ranked candidates (an incident resolved before diagnosis has neither). */
  diagnosed: boolean;
  /** The commander's root cause (absent when unlabelled). */
  confirmed: string | undefined;
  /** What vigil concluded: the inference's root cause (null: "unknown"); without an inference, the first candidate. */
  inferred: string | null;
  /** The diagnosis's ranking: the inferred root cause first, then the other candidates in order. */
  ranking: string[];
  /** 1-based rank of the confirmed service in `ranking`; null when not there (or unlabelled). */
  rank: number | null;
  /** The inference's confidence; null without an inference. */
  confidence: number | null;
  helpful: boolean | null;
  /** A person overrode the root cause during the incident. */
  overridden: boolean;
}

export interface AccuracySlis {
  window: { seconds: number; from: string; to: string };
  confidenceThreshold: number;
  incidents: {
    /** Closed within the window. */
    closed: number;
    labelled: number;
    unlabelled: number;
    /** Labelled and diagnosed: the accuracy SLIs' denominator. */
    scored: number;
    /** Scored incidents whose confirmed root cause was nowhere in the diagnosis's ranking. */
    confirmedNotRanked: number;
    /** Scored incidents where a person overrode the root cause during the incident. */
    overridden: number;
  };
  accuracy: { top1: Rate; top3: Rate; top5: Rate };
  /** Share of rated incidents (--helpful / --not-helpful) rated helpful. */
  helpful: Rate;
  /** Scored incidents with an inference: confidence against top-1 correctness. */
  calibration: {
    samples: number;
    /** Expected calibration error over 10 equal-width bins; null without samples. */
    ece: number | null;
    meanConfidence: number | null;
    /** Top-1 accuracy of incidents whose confidence was at or above the threshold (no checkpoint asked for confidence reasons), and below it. */
    atOrAbove: Rate;
    below: Rate;
    bins: ReliabilityBin[];
  };
}

/** When an incident closed: its last timeline entry (the stores order by the same). */
export function closedAtOf(s: Pick<IncidentStatus, 'timeline'>): string {
  return s.timeline[s.timeline.length - 1]?.at ?? '';
}

export function scoreDiagnosis(s: IncidentStatus): DiagnosisScore {
  const candidates = [...new Set(s.candidates.map((c) => c.service))];
  const inferred = s.inference ? (s.inference.rootCause?.service ?? null) : (candidates[0] ?? null);
  const ranking = inferred ? [inferred, ...candidates.filter((c) => c !== inferred)] : candidates;
  const confirmed = s.feedback?.confirmedRootCause;
  return {
    incidentId: s.incidentId,
    closedAt: closedAtOf(s),
    labelled: confirmed !== undefined,
    diagnosed: s.inference !== null || candidates.length > 0,
    confirmed,
    inferred,
    ranking,
    rank: confirmed === undefined ? null : rankOf(confirmed, ranking),
    confidence: s.inference ? s.inference.confidence : null,
    helpful: s.feedback?.helpful ?? null,
    overridden: s.decisions.some((d) => d.accepted && d.kind === 'override'),
  };
}

const rate = (hits: number, samples: number): Rate => ({ value: samples > 0 ? hits / samples : null, samples });

export interface AccuracyOptions {
  /** Epoch milliseconds: the window ends here. */
  now: number;
  windowSeconds: number;
  /** The policy's checkpoint.confidenceThreshold. @default 0.6 */
  confidenceThreshold?: number;
}

/**
 * The accuracy SLIs of the closed incidents among `incidents` whose close time falls in
 * (now − window, now]; incidents closed later than `now` (clock skew between hosts) count too.
 */
export function computeAccuracySlis(incidents: readonly IncidentStatus[], opts: AccuracyOptions): AccuracySlis {
  const threshold = opts.confidenceThreshold ?? 0.6;
  const from = opts.now - opts.windowSeconds * 1000;
  const seen = new Set<string>();
  const scores: DiagnosisScore[] = [];
  for (const s of incidents) {
    if (s.stage !== 'closed' || seen.has(s.incidentId)) continue;
    const closed = Date.parse(closedAtOf(s));
    if (!Number.isFinite(closed) || closed <= from) continue;
    seen.add(s.incidentId);
    scores.push(scoreDiagnosis(s));
  }
  const labelled = scores.filter((d) => d.labelled);
  const scored = labelled.filter((d) => d.diagnosed);
  const within = (k: number) => rate(scored.filter((d) => d.rank !== null && d.rank <= k).length, scored.length);
  const rated = labelled.filter((d) => d.helpful !== null);
  const withConfidence = scored.filter((d) => d.confidence !== null);
  const cal = calibration(
    withConfidence.map((d) => ({ id: d.incidentId, ranking: d.ranking, truth: d.confirmed ?? '', confidence: d.confidence, rootCause: d.inferred })),
    10,
    threshold,
  );
  const n = withConfidence.length;
  return {
    window: { seconds: opts.windowSeconds, from: new Date(from).toISOString(), to: new Date(opts.now).toISOString() },
    confidenceThreshold: threshold,
    incidents: {
      closed: scores.length,
      labelled: labelled.length,
      unlabelled: scores.length - labelled.length,
      scored: scored.length,
      confirmedNotRanked: scored.filter((d) => d.rank === null).length,
      overridden: scored.filter((d) => d.overridden).length,
    },
    accuracy: { top1: rate(scored.filter((d) => d.rank === 1 && d.inferred === d.confirmed).length, scored.length), top3: within(3), top5: within(5) },
    helpful: rate(rated.filter((d) => d.helpful === true).length, rated.length),
    calibration: {
      samples: n,
      ece: n > 0 ? cal.ece : null,
      meanConfidence: n > 0 ? cal.meanConfidence : null,
      atOrAbove: { value: cal.threshold.atOrAbove.accuracy, samples: cal.threshold.atOrAbove.count },
      below: { value: cal.threshold.below.accuracy, samples: cal.threshold.below.count },
      bins: cal.bins,
    },
  };
}

const pct = (r: Rate) => (r.value === null ? 'n/a' : `${(r.value * 100).toFixed(1)}%`);
const of = (r: Rate) => `${pct(r)} (${r.samples} incident${r.samples === 1 ? '' : 's'})`;

/** `vigil slis`'s text. */
export function describeAccuracySlis(a: AccuracySlis): string {
  const days = a.window.seconds / 86_400;
  const hours = a.window.seconds / 3600;
  const span = Number.isInteger(days) ? `${days} day${days === 1 ? '' : 's'}` : Number.isInteger(hours) ? `${hours} h` : `${a.window.seconds} s`;
  const i = a.incidents;
  const lines = [
    `diagnosis accuracy over the last ${span} (${a.window.from} .. ${a.window.to})`,
    `closed incidents: ${i.closed}, labelled ${i.labelled}, unlabelled ${i.unlabelled}; scored (labelled and diagnosed) ${i.scored}`,
  ];
  if (i.scored === 0) {
    lines.push(`no labelled incidents in the window: label closed incidents with \`vigil close <id> --root-cause <service> --as <who> [--helpful|--not-helpful]\``);
  } else {
    lines.push(
      `top-1 accuracy: ${of(a.accuracy.top1)}`,
      `top-3 accuracy: ${of(a.accuracy.top3)}`,
      `top-5 accuracy: ${of(a.accuracy.top5)}`,
      `confirmed root cause not among the candidates: ${i.confirmedNotRanked}; overridden during the incident: ${i.overridden}`,
    );
  }
  lines.push(`rated helpful: ${of(a.helpful)}`);
  const c = a.calibration;
  if (c.samples > 0) {
    lines.push(
      `calibration (${c.samples} with a confidence): mean confidence ${pct({ value: c.meanConfidence, samples: c.samples })}, expected calibration error ${(c.ece ?? 0).toFixed(3)}`,
      `  confidence >= ${a.confidenceThreshold}: top-1 accuracy ${of(c.atOrAbove)}`,
      `  confidence <  ${a.confidenceThreshold}: top-1 accuracy ${of(c.below)}`,
    );
  }
  return lines.join('\n');
}
