/**
 * A dataset folder of the shared datasets' layout (FORMAT.md): dataset.json (what it
 * is, published results) and cases/<id>/ bundles. Listing cases only looks for
 * case.json; truth.json is read by `readTruth`, which the evaluation calls only
 * after every incident workflow has finished.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';

/** One published result of dataset.json. */
export const PublishedResult = z.object({
  method: z.string(),
  metric: z.string(),
  value: z.number(),
  scope: z.string().optional(),
  source: z.string().optional(),
});
export type PublishedResult = z.infer<typeof PublishedResult>;

/** dataset.json (fields the evaluation uses; others are kept as they are). */
export const DatasetInfo = z
  .object({
    name: z.string().min(1).optional(),
    system: z.string().optional(),
    telemetry: z.array(z.string()).optional(),
    published_results: z.array(PublishedResult).default([]),
  })
  .loose();
export type DatasetInfo = z.infer<typeof DatasetInfo>;

/** truth.json: only `root_cause.service` is always present. */
export const Truth = z.object({
  root_cause: z.object({ service: z.string().min(1), fault_type: z.string().optional(), instance: z.string().optional() }).loose(),
});
export type Truth = z.infer<typeof Truth>;

/** Thrown when a folder is not a dataset of FORMAT.md's layout; the message is one sentence. */
export class NotADatasetError extends Error {
  override readonly name = 'NotADatasetError';
  constructor(
    readonly dir: string,
    reason: string,
  ) {
    super(`${dir} is not a dataset: ${reason} (expected dataset.json and cases/<id>/case.json, see FORMAT.md)`);
  }
}

export interface Dataset {
  dir: string;
  name: string;
  info: DatasetInfo;
  /** Case ids in sorted order (folders of cases/ that hold a case.json). */
  caseIds: string[];
  caseDir(id: string): string;
}

async function kind(path: string): Promise<'file' | 'dir' | null> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** Opens a dataset folder; throws NotADatasetError when it is not one. */
export async function openDataset(dirArg: string): Promise<Dataset> {
  const dir = resolve(dirArg);
  if ((await kind(dir)) !== 'dir') throw new NotADatasetError(dirArg, 'no such folder');
  const infoPath = join(dir, 'dataset.json');
  if ((await kind(infoPath)) !== 'file') throw new NotADatasetError(dirArg, 'it has no dataset.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(infoPath, 'utf8'));
  } catch (err) {
    throw new NotADatasetError(dirArg, `its dataset.json is not valid JSON (${(err as Error).message})`);
  }
  const info = DatasetInfo.safeParse(raw);
  if (!info.success) throw new NotADatasetError(dirArg, `its dataset.json is invalid (${z.prettifyError(info.error).replace(/\n/g, ' ')})`);
  const casesDir = join(dir, 'cases');
  if ((await kind(casesDir)) !== 'dir') throw new NotADatasetError(dirArg, 'it has no cases/ folder');
  const caseIds: string[] = [];
  for (const name of (await readdir(casesDir)).sort()) {
    if ((await kind(join(casesDir, name, 'case.json'))) === 'file') caseIds.push(name);
  }
  if (caseIds.length === 0) throw new NotADatasetError(dirArg, 'its cases/ folder holds no case bundle');
  return { dir, name: info.data.name ?? basename(dir), info: info.data, caseIds, caseDir: (id) => join(casesDir, id) };
}

/** The case's truth for scoring, or null when it has no truth.json. Call only after diagnosis. */
export async function readTruth(caseDir: string): Promise<Truth['root_cause'] | null> {
  const path = join(caseDir, 'truth.json');
  if ((await kind(path)) !== 'file') return null;
  const parsed = Truth.safeParse(JSON.parse(await readFile(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data.root_cause;
}
