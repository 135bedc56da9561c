/** `vigil report <id> [--format md|json]`: prints an incident's report. */
import { join } from 'node:path';
import { readReport } from '../report/report-store.js';
import { CliError, dataDirOf, str } from './cli-common.js';

export async function runReport(v: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const [id] = positionals;
  if (!id) throw new CliError('report needs an incident id', 2, true);
  const format = str(v['format']) ?? 'md';
  if (format !== 'md' && format !== 'json') throw new CliError(`--format must be md or json, got "${format}"`, 2, true);
  try {
    process.stdout.write(`${await readReport(join(dataDirOf(v), 'reports'), id, format)}\n`);
    return 0;
  } catch {
    throw new CliError(`no report for incident "${id}" (reports are written when an incident closes)`);
  }
}
