/**
 * `vigil slis [--window 30d] [--json]`: the diagnosis-accuracy SLIs of the incidents
 * closed within the window, against the commanders' labels (`vigil close`), read from
 * the configured knowledge store (the reports directory, or PostgreSQL): the same
 * numbers a worker serves on /metrics as vigil_diagnosis_sli.
 */
import { openKnowledgeStore } from '../knowledge/open-knowledge.js';
import { AccuracyConfig } from '../observability/config.js';
import { readAccuracySlis } from '../observability/accuracy-monitor.js';
import { describeAccuracySlis } from '../observability/diagnosis-accuracy.js';
import { CliError, print, resolveConfig, str } from './cli-common.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "30d", "12h", "90m", "3600s" or plain seconds. */
export function parseWindow(text: string): number {
  const m = /^(\d+)([smhdw]?)$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * (UNIT_SECONDS[m[2] || 's'] ?? 1) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new CliError(`--window must be a positive duration like 30d, 12h or 3600s, got "${text}"`, 2, true);
  return seconds;
}

export async function runSlis(v: Record<string, string | boolean | undefined>): Promise<number> {
  const window = str(v['window']);
  const windowOverride = window === undefined ? undefined : parseWindow(window);
  const { config } = resolveConfig(v);
  const accuracy = AccuracyConfig.parse(config.observability?.accuracy ?? {});
  const store = openKnowledgeStore(config.knowledge, config.dataDir);
  try {
    let slis;
    try {
      slis = await readAccuracySlis(store, {
        now: Date.now(),
        windowSeconds: windowOverride ?? accuracy.windowSeconds,
        confidenceThreshold: accuracy.confidenceThreshold,
        maxIncidents: accuracy.maxIncidents,
      });
    } catch (err) {
      throw new CliError(`cannot read the closed incidents from the knowledge store (${store.location}): ${(err as Error).message}`);
    }
    print({ store: store.location, ...slis }, v['json'] === true, () => `${describeAccuracySlis(slis)}\n(from ${store.location})`);
    return 0;
  } finally {
    await store.close();
  }
}
