/**
 * `vigil close <id> --root-cause <service> --as <who> [--helpful | --not-helpful]`: the
 * commander confirms or corrects the root cause of a closed incident and rates the
 * diagnosis. The label goes into the incident's report (its knowledge-base entry, which
 * later incidents retrieve) and the audit log.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reportFileBase } from '../report/report-store.js';
import { IncidentStatus } from '../schemas/incident.js';
import { appendCliEvidence } from './cli-audit.js';
import { CliError, print, resolveConfig, str } from './cli-common.js';

export async function runClose(v: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const [id] = positionals;
  if (!id) throw new CliError('close needs an incident id', 2, true);
  const by = str(v['as']);
  const rootCause = str(v['root-cause']);
  if (!by || !rootCause) throw new CliError('close needs --root-cause <service> and --as <who>', 2, true);
  if (v['helpful'] === true && v['not-helpful'] === true) throw new CliError('--helpful and --not-helpful exclude each other', 2, true);
  const helpful = v['helpful'] === true ? true : v['not-helpful'] === true ? false : null;
  const { config } = resolveConfig(v);
  const file = join(config.dataDir, 'reports', `${reportFileBase(id)}.json`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new CliError(`no closed incident "${id}" (its report is written when it closes)`);
  }
  const status = IncidentStatus.safeParse(raw);
  if (!status.success) throw new CliError(`the report of ${id} is not a vigil report`);
  const known = new Set([...status.data.topologyServices, ...status.data.candidates.map((c) => c.service)]);
  if (known.size > 0 && !known.has(rootCause)) throw new CliError(`unknown service "${rootCause}": not in the incident's topology or candidates`);
  const inferred = status.data.rootCause?.service ?? status.data.inference?.rootCause?.service ?? null;
  const feedback = { confirmedRootCause: rootCause, correct: inferred === rootCause, inferred, helpful, by, at: new Date().toISOString() };
  await writeFile(`${file}.tmp`, JSON.stringify({ ...raw, feedback }, null, 2));
  await rename(`${file}.tmp`, file);
  await appendCliEvidence(config, status.data.policyVersion ?? 'unknown', {
    kind: 'checkpoint-decision',
    incidentId: id,
    planSummary: `post-incident label: root cause ${rootCause}`,
    justification: `${by} ${feedback.correct ? 'confirmed' : `corrected (was ${inferred ?? 'unknown'})`} the root cause${helpful === null ? '' : `; diagnosis rated ${helpful ? 'helpful' : 'not helpful'}`}`,
    policy: { decidingRule: 'post-incident review', outcome: 'labelled' },
    actor: { type: 'system', id: by },
    details: feedback,
  });
  print(feedback, v['json'] === true, () => `${id}: root cause ${rootCause} ${feedback.correct ? 'confirmed' : `(corrected from ${inferred ?? 'unknown'})`}${helpful === null ? '' : `, rated ${helpful ? 'helpful' : 'not helpful'}`}`);
  return 0;
}
