/**
 * The aggregation settings of an alert group, as data: Alertmanager's timings
 * (group_wait, group_interval), inhibition rules, flapping thresholds, the topology
 * merge window and the severity mapping. Ingest hands them to the group workflow in its
 * start input, so the workflow never reads configuration itself.
 * Pure module: safe to import from workflow code.
 */
import { z } from 'zod';
import { Severity } from '../schemas/alert.js';
import { IncidentSettings } from '../schemas/incident.js';
import { parseMatcher } from './matchers.js';

const Matcher = z.string().superRefine((value, ctx) => {
  try {
    parseMatcher(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** Alertmanager's inhibit_rules entry (the matcher-string syntax). */
export const InhibitRule = z.object({
  name: z.string().optional().describe('shown in records; default: the rule index and its matchers'),
  source_matchers: z.array(Matcher).min(1).describe('alerts that inhibit, e.g. ["severity=critical"]'),
  target_matchers: z.array(Matcher).min(1).describe('alerts that are inhibited, e.g. ["severity=~warning|info"]'),
  equal: z.array(z.string()).default([]).describe('labels that must have equal values in source and target'),
});
export type InhibitRule = z.infer<typeof InhibitRule>;

export const FlappingSettings = z.object({
  /** More than this many state changes (fire or resolve) within the window = flapping. @default 4 */
  threshold: z.number().int().positive().default(4),
  /** @default 600 */
  windowSeconds: z.number().positive().default(600),
});

export const AggregationSettings = z.object({
  /** Wait before an incident is opened, to collect the group's first alerts. @default 30 */
  groupWaitSeconds: z.number().nonnegative().default(30),
  /** Late alerts (and resolutions) reach an open incident in batches at most this often. @default 300 */
  groupIntervalSeconds: z.number().nonnegative().default(300),
  inhibitRules: z.array(InhibitRule).default([]),
  flapping: FlappingSettings.prefault({}),
  /** Alerts on services the topology links, this close in time (startsAt), join one incident. 0 = off. @default 300 */
  topologyMergeWindowSeconds: z.number().nonnegative().default(300),
  /** Label severity → P0..P4; missing keys fall back to the default mapping. */
  severityMap: z.record(z.string(), Severity).optional(),
  /** How long a resolved (or silent) alert lifecycle is remembered for dedup. @default 86400 */
  dedupRetentionSeconds: z.number().positive().default(86_400),
  /** How long a group with nothing open and nothing to remember stays alive. @default 3600 */
  idleCloseSeconds: z.number().positive().default(3_600),
  /**
   * Continue-as-new after this many handled deliveries (tests force it low); Temporal's
   * suggestion also triggers it. Short histories keep replays (cache evictions, queries) cheap
   * in a storm: at 2000 the benchmark's groups reached 4-5 MB and 5-30 s workflow tasks. @default 200
   */
  maxEventsBeforeContinueAsNew: z.number().int().positive().default(200),
  /** Closed incidents and suppression records kept in the group's state. @default 50 / 200 */
  keepClosedIncidents: z.number().int().positive().default(50),
  keepSuppressions: z.number().int().positive().default(200),
  /**
   * How long ingest answers from a group's routing lease after the group gave it
   * (src/aggregation/routing-lease.ts); 0 = ingest always asks the group. The group holds a
   * closing incident open this long (plus a margin) while senders use leases, so an alert
   * sent under a lease that named it still reaches it. Set from `ingest.routingLeaseSeconds`.
   * @default 0
   */
  routingLeaseSeconds: z.number().nonnegative().default(0),
  /** Settings handed to each incident (its own group wait is always 0: the group waited). */
  incident: IncidentSettings.partial().default({}),
});
export type AggregationSettings = z.infer<typeof AggregationSettings>;
export type AggregationSettingsInput = z.input<typeof AggregationSettings>;
