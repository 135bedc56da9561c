/**
 * Keeps the closed incidents' SLI samples (optionally in a JSONL file, so a restart keeps
 * the baseline), evaluates drift each time an incident closes, and POSTs the configured
 * webhooks when an SLI starts or stops drifting (transitions only, never per incident).
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../logger.js';
import { postWebhooks, type WebhookTarget } from '../notify/webhooks.js';
import { SLI_NAMES, type DriftConfig, type SliName } from './config.js';
import { describeVerdict, detectDrift, pruneSamples, type DriftVerdict, type SliSample } from './drift.js';

export interface DriftMonitorOptions {
  config: DriftConfig;
  /** JSONL file for the samples; absent = memory only. */
  file?: string;
  logger?: Logger;
  /** Epoch seconds. @default Date.now()/1000 */
  now?: () => number;
  /** Webhook delivery settings (tests shorten them). */
  webhookOptions?: { attempts?: number; backoffMs?: number; timeoutMs?: number };
}

export class DriftMonitor {
  private samples: SliSample[] = [];
  private verdicts: DriftVerdict[] = [];
  private readonly drifting = new Set<SliName>();
  private readonly now: () => number;
  private appended = 0;

  constructor(private readonly opts: DriftMonitorOptions) {
    this.now = opts.now ?? (() => Date.now() / 1000);
  }

  /** Loads persisted samples (missing or unreadable lines are skipped) and evaluates once, without alerting. */
  async load(): Promise<void> {
    if (!this.opts.file) return;
    let text = '';
    try {
      text = await readFile(this.opts.file, 'utf8');
    } catch {
      return;
    }
    const loaded: SliSample[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const s = JSON.parse(line) as SliSample;
        if (typeof s.at === 'number' && s.values && typeof s.values === 'object') loaded.push(s);
      } catch {
        // a torn last line after a crash
      }
    }
    this.samples = pruneSamples(loaded, this.opts.config, this.now());
    this.verdicts = this.evaluate();
    for (const v of this.verdicts) if (v.drifted) this.drifting.add(v.sli);
  }

  current(): readonly DriftVerdict[] {
    return this.verdicts;
  }

  sampleCount(): number {
    return this.samples.length;
  }

  /**
   * Adds one closed incident's sample, re-evaluates, and alerts on transitions.
   * Resolves once the webhooks were tried; never rejects.
   */
  async add(sample: SliSample): Promise<{ started: DriftVerdict[]; stopped: DriftVerdict[] }> {
    const now = this.now();
    this.samples = pruneSamples([...this.samples, sample], this.opts.config, now);
    await this.persist(sample).catch((err: Error) => this.opts.logger?.warn({ err: err.message }, 'could not persist the SLI sample'));
    this.verdicts = this.evaluate();
    const started = this.verdicts.filter((v) => v.drifted && !this.drifting.has(v.sli));
    const stopped = this.verdicts.filter((v) => !v.drifted && this.drifting.has(v.sli) && !v.reason.startsWith('insufficient'));
    for (const v of started) this.drifting.add(v.sli);
    for (const v of stopped) this.drifting.delete(v.sli);
    for (const v of started) this.opts.logger?.warn({ sli: v.sli, baseline: v.baseline, recent: v.recent, relativeChange: v.relativeChange }, 'SLI drift');
    if ((started.length > 0 || stopped.length > 0) && this.opts.config.webhooks.length > 0) {
      await this.alert(sample.incidentId ?? '', started, stopped);
    }
    return { started, stopped };
  }

  private evaluate(): DriftVerdict[] {
    if (!this.opts.config.enabled) return [];
    return detectDrift(this.samples, this.opts.config, this.now(), SLI_NAMES);
  }

  private async alert(incidentId: string, started: DriftVerdict[], stopped: DriftVerdict[]): Promise<void> {
    const lines = [...started.map((v) => `drifting: ${describeVerdict(v)}`), ...stopped.map((v) => `back within threshold: ${describeVerdict(v)}`)];
    const targets: WebhookTarget[] = this.opts.config.webhooks.map((w) => ({ url: w.url, format: w.format }));
    try {
      const out = await postWebhooks(
        {
          incidentId: incidentId || 'n/a',
          event: started.length > 0 ? 'sli-drift' : 'sli-drift-resolved',
          severity: 'SLI',
          text: lines.join('; '),
        },
        targets,
        this.opts.webhookOptions,
      );
      for (const f of out.failed) this.opts.logger?.warn({ url: f.url, error: f.error }, 'SLI drift webhook failed');
    } catch (err) {
      this.opts.logger?.warn({ err: (err as Error).message }, 'SLI drift webhook failed');
    }
  }

  private async persist(sample: SliSample): Promise<void> {
    const file = this.opts.file;
    if (!file || !this.opts.config.persist) return;
    await mkdir(dirname(file), { recursive: true });
    this.appended += 1;
    // Compact now and then: rewrite with the samples still inside the windows.
    if (this.appended % 500 === 0) {
      await writeFile(file, this.samples.map((s) => `${JSON.stringify(s)}\n`).join(''));
    } else {
      await appendFile(file, `${JSON.stringify(sample)}\n`);
    }
  }
}
