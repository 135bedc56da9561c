/**
 * Keeps the diagnosis-accuracy SLIs (diagnosis-accuracy.ts) of the knowledge store's
 * closed incidents current for GET /metrics. The labels are written by `vigil close`
 * (another process, possibly another host), so the SLIs are read back from the store
 * rather than observed: a scrape recomputes them when they are older than
 * `refreshSeconds` (or an incident closed on this worker since), waiting at most
 * `refreshWaitMs` and otherwise serving the previous values; one computation at a time.
 * A store that cannot be read keeps the last values and says so in
 * `vigil_diagnosis_sli_refresh_ok`.
 */
import type { KnowledgeStore } from '../knowledge/knowledge-store.js';
import type { Logger } from '../logger.js';
import type { AccuracyConfig } from './config.js';
import { computeAccuracySlis, type AccuracySlis, type Rate } from './diagnosis-accuracy.js';
import type { GaugeSet } from './gauges.js';

/** Reads the closed incidents of the window from the store and computes their SLIs. */
export async function readAccuracySlis(
  store: Pick<KnowledgeStore, 'listIncidents'>,
  opts: { now: number; windowSeconds: number; confidenceThreshold: number; maxIncidents: number },
): Promise<AccuracySlis> {
  const closedSince = new Date(opts.now - opts.windowSeconds * 1000).toISOString();
  const incidents = await store.listIncidents({ limit: opts.maxIncidents, closedSince });
  return computeAccuracySlis(incidents, opts);
}

export interface AccuracyMonitorOptions {
  store: Pick<KnowledgeStore, 'listIncidents' | 'location'>;
  config: AccuracyConfig;
  logger?: Logger;
  /** Epoch milliseconds. @default Date.now */
  now?: () => number;
}

export class AccuracyMonitor {
  private slis: AccuracySlis | undefined;
  private computedAt = -Infinity;
  private stale = true;
  private running: Promise<void> | undefined;
  private lastOk = true;
  private lastSuccess: number | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: AccuracyMonitorOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The last computed SLIs (undefined before the first successful computation). */
  current(): AccuracySlis | undefined {
    return this.slis;
  }

  /** An incident closed on this worker: the next scrape recomputes. */
  markStale(): void {
    this.stale = true;
  }

  /** Recomputes now (joins a computation already running). Never rejects. */
  refresh(): Promise<void> {
    this.running ??= this.compute().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** For a scrape: recomputes when due, waiting at most `refreshWaitMs` for it. */
  async refreshIfDue(): Promise<void> {
    if (!this.opts.config.enabled) return;
    const due = this.stale || this.now() - this.computedAt >= this.opts.config.refreshSeconds * 1000;
    if (!due && !this.running) return;
    const done = this.refresh();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.opts.config.refreshWaitMs)))]);
    clearTimeout(timer);
  }

  private async compute(): Promise<void> {
    const started = this.now();
    this.stale = false;
    try {
      const c = this.opts.config;
      this.slis = await readAccuracySlis(this.opts.store, { now: started, windowSeconds: c.windowSeconds, confidenceThreshold: c.confidenceThreshold, maxIncidents: c.maxIncidents });
      this.lastOk = true;
      this.lastSuccess = started;
    } catch (err) {
      this.lastOk = false;
      this.stale = true; // try again at the next scrape
      this.opts.logger?.warn({ store: this.opts.store.location, err: (err as Error).message }, 'could not read the labelled incidents for the accuracy SLIs');
    } finally {
      this.computedAt = started;
    }
  }

  /** Registers the accuracy gauges (read from the last computation at render time). */
  registerGauges(gauges: GaugeSet): void {
    if (!this.opts.config.enabled) return;
    const slis = () => this.slis;
    const rates = (a: AccuracySlis): [string, Rate][] => [
      ['top1_accuracy', a.accuracy.top1],
      ['top3_accuracy', a.accuracy.top3],
      ['top5_accuracy', a.accuracy.top5],
      ['helpful_rate', a.helpful],
      ['accuracy_confidence_at_or_above_threshold', a.calibration.atOrAbove],
      ['accuracy_confidence_below_threshold', a.calibration.below],
      ['mean_confidence', { value: a.calibration.meanConfidence, samples: a.calibration.samples }],
      ['calibration_error', { value: a.calibration.ece, samples: a.calibration.samples }],
    ];
    gauges.gauge({
      name: 'vigil_diagnosis_sli',
      help: "Diagnosis accuracy SLIs over the incidents closed in the window, against the commander's label (vigil close): top-k accuracy, helpful rate, top-1 accuracy at or above / below the confidence threshold, mean confidence, expected calibration error. Absent without samples.",
      labelNames: ['sli'] as const,
      collect: () => {
        const a = slis();
        return a ? rates(a).flatMap(([sli, r]) => (r.value === null ? [] : [{ labels: { sli }, value: r.value }])) : [];
      },
    });
    gauges.gauge({
      name: 'vigil_diagnosis_sli_samples',
      help: 'Incidents each diagnosis SLI was computed over (labelled and diagnosed; rated for helpful_rate; with a confidence for the calibration SLIs).',
      labelNames: ['sli'] as const,
      collect: () => {
        const a = slis();
        return a ? rates(a).map(([sli, r]) => ({ labels: { sli }, value: r.samples })) : [];
      },
    });
    gauges.gauge({
      name: 'vigil_diagnosis_incidents',
      help: 'Closed incidents in the accuracy window: labelled, unlabelled, scored (labelled and diagnosed), confirmed_not_ranked (the confirmed root cause was not among the candidates), overridden (during the incident).',
      labelNames: ['state'] as const,
      collect: () => {
        const a = slis();
        if (!a) return [];
        const i = a.incidents;
        return Object.entries({ labelled: i.labelled, unlabelled: i.unlabelled, scored: i.scored, confirmed_not_ranked: i.confirmedNotRanked, overridden: i.overridden }).map(([state, value]) => ({ labels: { state }, value }));
      },
    });
    gauges.gauge({
      name: 'vigil_diagnosis_sli_window_seconds',
      help: 'Length of the rolling window of the diagnosis SLIs (observability.accuracy.windowSeconds).',
      labelNames: [] as const,
      collect: () => [{ labels: {}, value: this.opts.config.windowSeconds }],
    });
    gauges.gauge({
      name: 'vigil_diagnosis_sli_confidence_threshold',
      help: 'The confidence the calibration SLIs split at (observability.accuracy.confidenceThreshold).',
      labelNames: [] as const,
      collect: () => [{ labels: {}, value: this.opts.config.confidenceThreshold }],
    });
    gauges.gauge({
      name: 'vigil_diagnosis_sli_refresh_ok',
      help: 'Whether the last computation of the diagnosis SLIs could read the knowledge store (1) or not (0: the previous values are served).',
      labelNames: [] as const,
      collect: () => [{ labels: {}, value: this.lastOk ? 1 : 0 }],
    });
    gauges.gauge({
      name: 'vigil_diagnosis_sli_computed_timestamp_seconds',
      help: 'When the served diagnosis SLIs were computed (Unix time). Absent before the first successful computation.',
      labelNames: [] as const,
      collect: () => (this.lastSuccess === undefined ? [] : [{ labels: {}, value: this.lastSuccess / 1000 }]),
    });
  }
}
