/**
 * Runbooks (SOPs) as Markdown files with YAML front matter: which services and symptoms
 * they are for, when they apply, and their steps with the risk of each.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { RunbookStep } from '../schemas/incident.js';

export const RunbookFrontMatter = z.object({
  id: z.string().min(1),
  title: z.string().min(1),
  services: z.array(z.string()).default(['*']),
  symptoms: z.array(z.string()).default([]),
  when: z
    .object({
      /** The root-cause service was deployed shortly before the incident. */
      recentDeploy: z.boolean().optional(),
      /** Substrings of the root-cause indicator (cpu, memory, latency, db_connections, ...). */
      indicators: z.array(z.string()).optional(),
    })
    .default({}),
  priority: z.number().default(0),
  steps: z.array(RunbookStep).min(1),
});
export type RunbookFrontMatter = z.infer<typeof RunbookFrontMatter>;

export interface Runbook extends RunbookFrontMatter {
  path: string;
  body: string;
}

export async function loadRunbooks(dir: string): Promise<Runbook[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.md')).sort();
  } catch {
    return [];
  }
  const out: Runbook[] = [];
  for (const f of files) {
    const path = join(dir, f);
    const text = await readFile(path, 'utf8');
    const m = /^---\n([\s\S]*?)\n---\n?([\s\S]*)$/.exec(text);
    if (!m) throw new Error(`runbook ${path}: no YAML front matter`);
    const parsed = RunbookFrontMatter.safeParse(parseYaml(m[1] ?? ''));
    if (!parsed.success) throw new Error(`runbook ${path}: ${z.prettifyError(parsed.error)}`);
    out.push({ ...parsed.data, path, body: (m[2] ?? '').trim() });
  }
  return out;
}

/** Does this runbook apply to the root cause? */
export function runbookApplies(rb: Runbook, service: string, indicator: string | undefined, recentDeploy: boolean): boolean {
  if (!rb.services.includes('*') && !rb.services.includes(service)) return false;
  if (rb.when.recentDeploy !== undefined && rb.when.recentDeploy !== recentDeploy) return false;
  if (rb.when.indicators) {
    const ind = (indicator ?? '').toLowerCase();
    if (!rb.when.indicators.some((i) => ind.includes(i.toLowerCase()))) return false;
  }
  return true;
}
