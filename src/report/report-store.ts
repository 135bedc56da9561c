/**
 * Writes an incident's report as <reportsDir>/<incident>.json and .md, and reads it back
 * for `vigil report`. The JSON is also the incident's entry in the knowledge base.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncidentStatus } from '../schemas/incident.js';
import { renderMarkdown, type ReportLinks } from './render-report.js';

export function reportFileBase(incidentId: string): string {
  return incidentId.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function writeAtomic(path: string, body: string): Promise<void> {
  await writeFile(`${path}.tmp`, body);
  await rename(`${path}.tmp`, path);
}

/** `knowledgeError`: the incident could not be added to the knowledge store (said in both files). */
export async function writeReportFiles(dir: string, status: IncidentStatus, links: ReportLinks, opts: { knowledgeError?: string } = {}): Promise<{ jsonPath: string; markdownPath: string }> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, reportFileBase(status.incidentId));
  const jsonPath = `${base}.json`;
  const markdownPath = `${base}.md`;
  const report = { ...status, report: { jsonPath, markdownPath, ...(opts.knowledgeError ? { knowledgeError: opts.knowledgeError } : {}) }, links };
  await writeAtomic(jsonPath, JSON.stringify(report, null, 2));
  await writeAtomic(markdownPath, renderMarkdown(report, links));
  return { jsonPath, markdownPath };
}

export async function readReport(dir: string, incidentId: string, format: 'md' | 'json'): Promise<string> {
  return readFile(join(dir, `${reportFileBase(incidentId)}.${format}`), 'utf8');
}
