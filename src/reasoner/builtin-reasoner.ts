/**
 * Built-in reasoner: picks the top-ranked candidate as the root cause and says how
 * sure it is, without a language model.
 *
 * Confidence is meant to read as the probability that the top pick is right, so it
 * is built only from general properties of the evidence (all terms in 0..1):
 *   margin   = (s1 - s2) / s1            relative score gap between #1 and #2 (1 if alone)
 *   marginT  = min(1, margin / 0.4)      a 40% gap counts as a clear margin
 *   coverage = sources that returned findings (metrics, logs, traces, topology)
 *   agreeT   = share of those sources whose findings on #1 reach at least half of
 *              the source's strongest finding on a contender (a service the ranking
 *              scores at least half of #1's: findings the ranking set aside do not
 *              count against #1) (agreement of independent sources, relative to the
 *              evidence there is: a lone source that points at #1 is not penalised for
 *              sources the system does not have)
 *   history  = Σ similarity of similar incidents on #1 minus Σ on other services,
 *              divided by their total similarity (−1..1; 0 without history)
 *   strength = min(1, s1 / 0.5)          an absolute floor on the top score
 *   confidence = clamp((0.6·marginT + 0.4·agreeT) · strength · 0.95 + 0.1·history, 0, 0.95)
 *   then capped at 0.5 when margin < 0.1 (near tie: a coin flip between the two).
 * Never 1: the ranking is evidence, not proof. The reliability of this mapping is
 * measured per dataset by scripts/rank-dataset.ts (expected calibration error).
 * No candidates: null, 0.
 * Pure and deterministic.
 */
import type { Candidate, SourceEvidence } from '../schemas/evidence.js';

export interface InferRootCauseInput {
  candidates: Candidate[];
  evidence: SourceEvidence[];
  similarIncidents?: { service: string; similarity: number }[];
}

export interface RootCauseVerdict {
  rootCause: { service: string; instance?: string; indicator?: string } | null;
  confidence: number;
  reasoning: string[];
  evidenceRefs: string[];
}

/** Relative gap between the top two scores (1 when there is a single positive candidate). */
export function scoreMargin(candidates: readonly Candidate[]): number {
  const s1 = candidates[0]?.score ?? 0;
  const s2 = candidates[1]?.score ?? 0;
  if (s1 <= 0) return 0;
  return Math.max(0, Math.min(1, (s1 - s2) / s1));
}

/**
 * Sources whose findings on `service` reach at least half of that source's strongest
 * finding on a contender: a service the ranking still scores at least half of `service`'s
 * score (all services when no candidates are given). Findings on services the ranking
 * set aside (explained by a dependency, there before the fault, off the call path) do
 * not count against it.
 */
export function agreeingSources(service: string, evidence: readonly SourceEvidence[], candidates?: readonly Candidate[]): string[] {
  const top = candidates?.find((c) => c.service === service)?.score ?? 0;
  const contenders = candidates && top > 0 ? new Set(candidates.filter((c) => c.score >= 0.5 * top).map((c) => c.service)) : undefined;
  const agree = new Set<string>();
  for (const ev of evidence) {
    let max = 0;
    let mine = 0;
    for (const f of ev.findings) {
      if (!contenders || contenders.has(f.service)) max = Math.max(max, f.score);
      if (f.service === service) mine = Math.max(mine, f.score);
    }
    if (mine > 0 && mine >= 0.5 * max) agree.add(ev.source);
  }
  return [...agree].sort();
}

/** −1..1: how far past incidents' root causes agree with `service`, weighted by similarity. */
export function historyAgreement(service: string, similar: readonly { service: string; similarity: number }[]): number {
  let pro = 0;
  let total = 0;
  for (const s of similar) {
    const w = Math.max(0, Math.min(1, s.similarity));
    total += w;
    if (s.service === service) pro += w;
  }
  if (total === 0) return 0;
  return (2 * pro - total) / total;
}

/** Sources that returned at least one finding. */
export function sourcesWithFindings(evidence: readonly SourceEvidence[]): string[] {
  return [...new Set(evidence.filter((ev) => ev.findings.length > 0).map((ev) => ev.source))].sort();
}

/** Upper bound of the confidence: the ranking is evidence, not proof. */
export const MAX_CONFIDENCE = 0.95;

export function confidenceOf(input: { margin: number; agreeing: number; available: number; history: number; topScore: number }): number {
  const marginT = Math.min(1, Math.max(0, input.margin) / 0.4);
  const agreeT = input.available > 0 ? Math.min(1, input.agreeing / input.available) : 0;
  const strength = Math.min(1, Math.max(0, input.topScore) / 0.5);
  let c = (0.6 * marginT + 0.4 * agreeT) * strength * MAX_CONFIDENCE + 0.1 * input.history;
  if (input.margin < 0.1) c = Math.min(c, 0.5);
  return Math.max(0, Math.min(MAX_CONFIDENCE, c));
}

export function inferRootCause(input: InferRootCauseInput): RootCauseVerdict {
  const top = input.candidates[0];
  if (!top || top.score <= 0) {
    return { rootCause: null, confidence: 0, reasoning: ['no candidate with any evidence'], evidenceRefs: [] };
  }
  const second = input.candidates[1];
  const margin = scoreMargin(input.candidates);
  const sources = agreeingSources(top.service, input.evidence, input.candidates);
  const history = historyAgreement(top.service, input.similarIncidents ?? []);
  const available = sourcesWithFindings(input.evidence);
  const confidence = confidenceOf({ margin, agreeing: sources.length, available: available.length, history, topScore: top.score });
  const reasoning: string[] = [
    `${top.service} ranks first with score ${top.score.toFixed(2)}${
      second ? `, ${Math.round(margin * 100)}% above ${second.service} (${second.score.toFixed(2)})` : ' (no other candidate)'
    }`,
    sources.length > 0
      ? `${sources.length} of ${available.length} source(s) with findings point at ${top.service}: ${sources.join(', ')}`
      : `no source's strongest findings point at ${top.service}`,
  ];
  if ((input.similarIncidents?.length ?? 0) > 0)
    reasoning.push(
      history > 0
        ? `similar past incidents mostly had their root cause in ${top.service}`
        : `similar past incidents mostly had their root cause elsewhere`,
    );
  if (margin < 0.1 && second) reasoning.push(`near tie with ${second.service}: check both`);
  reasoning.push(...top.reasons.slice(0, 5));
  return {
    rootCause: {
      service: top.service,
      ...(top.instance ? { instance: top.instance } : {}),
      ...(top.indicator ? { indicator: top.indicator } : {}),
    },
    confidence,
    reasoning,
    evidenceRefs: [...top.findingIds],
  };
}
