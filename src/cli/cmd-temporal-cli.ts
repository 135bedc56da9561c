/** `vigil temporal-cli`: prints the Temporal CLI vigil uses, building it with Go if needed. */
import { ensureTemporalCli, TemporalCliUnavailableError } from '../temporal/temporal-cli.js';
import { CliError } from './cli-common.js';

export async function runTemporalCli(): Promise<number> {
  try {
    const cli = ensureTemporalCli({ allowDownload: false });
    process.stdout.write(`${cli.path ?? ''}\n`);
    return 0;
  } catch (err) {
    if (err instanceof TemporalCliUnavailableError) throw new CliError(err.message);
    throw err;
  }
}
