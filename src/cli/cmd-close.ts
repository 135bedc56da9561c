/**
 * `vigil close <id> --root-cause <service> --as <who> [--helpful | --not-helpful]`: the
 * commander confirms or corrects the root cause of a closed incident and rates the
 * diagnosis. The label goes into the incident's report (its knowledge-base entry, which
 * later incidents retrieve; with `knowledge.store: postgres`, the shared store's entry too)
 * and the audit log.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openKnowledgeStore } from '../knowledge/open-knowledge.js';
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
  // A shared (PostgreSQL) knowledge base is labelled too, and holds incidents closed by workers on other hosts.
  const store = config.knowledge.store === 'postgres' ? openKnowledgeStore(config.knowledge, config.dataDir) : undefined;
  let feedback;
  let status;
  try {
    let raw: Record<string, unknown> | undefined;
    try {
      raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch {
      raw = undefined;
    }
    const local = raw !== undefined;
    if (!raw && store) {
      try {
        raw = ((await store.getIncident(id)) as Record<string, unknown> | null) ?? undefined;
      } catch (err) {
        throw new CliError(`no report of "${id}" here, and the knowledge store (${store.location}) is unreachable: ${(err as Error).message}`);
      }
    }
    if (!raw) throw new CliError(`no closed incident "${id}" (its report is written when it closes)`);
    status = IncidentStatus.safeParse(raw);
    if (!status.success) throw new CliError(`the report of ${id} is not a vigil report`);
    const known = new Set([...status.data.topologyServices, ...status.data.candidates.map((c) => c.service)]);
    if (known.size > 0 && !known.has(rootCause)) throw new CliError(`unknown service "${rootCause}": not in the incident's topology or candidates`);
    const inferred = status.data.rootCause?.service ?? status.data.inference?.rootCause?.service ?? null;
    feedback = { confirmedRootCause: rootCause, correct: inferred === rootCause, inferred, helpful, by, at: new Date().toISOString() };
    if (local) {
      await writeFile(`${file}.tmp`, JSON.stringify({ ...raw, feedback }, null, 2));
      await rename(`${file}.tmp`, file);
    }
    if (store) {
      try {
        await store.putIncident({ ...status.data, feedback });
      } catch (err) {
        throw new CliError(`${local ? 'the report is labelled, but ' : ''}the knowledge store (${store.location}) could not be updated: ${(err as Error).message}; run the command again`);
      }
    }
  } finally {
    await store?.close();
  }
  await appendCliEvidence(config, status.data.policyVersion ?? 'unknown', {
    kind: 'checkpoint-decision',
    incidentId: id,
    planSummary: `post-incident label: root cause ${rootCause}`,
    justification: `${by} ${feedback.correct ? 'confirmed' : `corrected (was ${feedback.inferred ?? 'unknown'})`} the root cause${helpful === null ? '' : `; diagnosis rated ${helpful ? 'helpful' : 'not helpful'}`}`,
    policy: { decidingRule: 'post-incident review', outcome: 'labelled' },
    actor: { type: 'system', id: by },
    details: feedback,
  });
  print(feedback, v['json'] === true, () => `${id}: root cause ${rootCause} ${feedback.correct ? 'confirmed' : `(corrected from ${feedback.inferred ?? 'unknown'})`}${helpful === null ? '' : `, rated ${helpful ? 'helpful' : 'not helpful'}`}`);
  return 0;
}
