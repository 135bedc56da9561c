/**
 * Re-ranks candidates with the sub-agents' verdicts: a supported hypothesis gains, a
 * refuted one loses, an inconclusive or uninvestigated one keeps its score. The reasons
 * say so. Pure and deterministic.
 */
import type { Candidate } from '../schemas/evidence.js';
import type { Hypothesis } from '../schemas/incident.js';

export const VERDICT_WEIGHT: Record<Hypothesis['verdict'], number> = {
  supported: 1.25,
  inconclusive: 1,
  'not-investigated': 1,
  refuted: 0.6,
};

export function rerankWithHypotheses(candidates: Candidate[], hypotheses: Hypothesis[]): Candidate[] {
  const byService = new Map(hypotheses.map((h) => [h.service, h]));
  const adjusted = candidates.map((c) => {
    const h = byService.get(c.service);
    if (!h || h.verdict === 'not-investigated' || h.verdict === 'inconclusive') return c;
    return {
      ...c,
      score: c.score * VERDICT_WEIGHT[h.verdict],
      reasons: [`investigation ${h.verdict} the hypothesis: ${(h.verdict === 'supported' ? h.evidenceFor : h.evidenceAgainst)[0] ?? ''}`, ...c.reasons],
    };
  });
  const top = Math.max(1e-9, ...adjusted.map((c) => c.score));
  const scale = top > 1 ? 1 / top : 1;
  return adjusted
    .map((c) => ({ ...c, score: c.score * scale }))
    .sort((a, b) => b.score - a.score || (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}
