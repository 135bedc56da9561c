/**
 * Alert storm benchmark (not part of `npm test`):
 *
 *   node --import tsx bench/alert-storm.ts [--alerts 10000] [--seconds 60] [--services 50]
 *
 * On an embedded Temporal dev server (in memory), with a vigil worker (topology from the
 * built-in simulator; no metrics/logs/traces, so incidents stay cheap) and the real
 * ingest HTTP server:
 *  1. Storm: N alerts over S seconds from ~50 services with realistic label sets, posted
 *     as Alertmanager webhooks (group_by alertname+service, 1-20 alerts each, 5 % of the
 *     webhooks redelivered), open loop on a schedule. Reports incidents opened, alerts
 *     accounted for (every fingerprint found in exactly one group's records, with an
 *     incident or a suppression; incidents' own alert lists checked too), the reduction
 *     ratio and the ingest latency p50/p99.
 *  2. Throughput: the same kind of batches, closed loop with fixed concurrency, through
 *     (a) the ingest HTTP server, (b) a bare client's update-with-start to the group
 *     workflow, (c) a bare client's signalWithStart to it, (d) a bare client's plain signal
 *     to it once it runs (what ingest sends under a lease); alerts/s and ratios. Each path
 *     first delivers two batches to each of its 400 groups, untimed (the groups exist, and
 *     ingest holds their routing leases: it asks for one from a group's second batch), then
 *     is timed on further batches to them: the steady state of a storm, where a group's
 *     first webhooks are the exception. Each path starts from an idle worker (every batch
 *     handed over before was taken by its group), so none meets another's backlog; the
 *     time the worker took to catch up after each is printed. Ingest and signalWithStart
 *     alternate in --rounds N short rounds (default 4: A B B A, --throughput-seconds split
 *     between them), each from an idle worker, each ingest round with its groups' leases
 *     held (an untimed pass first); --rounds 1 times each once. The CPU each process used
 *     per batch in the timed windows is printed (Linux /proc): the ratio moves with the
 *     machine, the CPU per batch much less. Topology merge is off in this phase (the storm
 *     measures it), so no incident opens and competes with the measurement.
 *     `--lease-seconds N` sets ingest's routing lease (ingest.routingLeaseSeconds, default
 *     as in the configuration; 0 = off: every batch waits for its group).
 * Prints a Markdown block for BENCHMARKS.md. Bounded: every wait has a deadline.
 * Profiling: --phases (storm,ingest,update,signal), --no-correlation, --worker '<json>',
 * BENCH_DEBUG=1, VIGIL_DEBUG_CORRELATOR=1, BENCH_PROF_INGEST=<dir>.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { pino } from 'pino';
import type { AggregationSettingsInput } from '../src/aggregation/settings.js';
import { CAPABILITY_TOOLS } from '../src/schemas/capabilities.js';
import { loadConfig } from '../src/config.js';
import { createIngestServer } from '../src/ingest/server.js';
import { deliveryIdFor } from '../src/ingest/grouping.js';
import type { Alert, AlertBatch } from '../src/schemas/alert.js';
import type { AlertsPage, IncidentStatus } from '../src/schemas/incident.js';
import { DEFAULT_ROUTING_LEASE_SECONDS } from '../src/schemas/config.js';
import { startSimulator } from '../src/simulator/index.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { groupIdFor, TemporalAlertSink } from '../src/temporal/temporal-alert-sink.js';
import { createVigilWorker } from '../src/worker/create-worker.js';
import { ALERT_GROUP_WORKFLOW, alertsSignal, deliverAlertsUpdate, groupStatusQuery, incidentAlertsQuery, statusQuery, type GroupStatus } from '../workflows/messages.js';

const { values: args } = parseArgs({
  options: {
    alerts: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '60' },
    services: { type: 'string', default: '50' },
    'throughput-seconds': { type: 'string', default: '20' },
    /** Ingest and bare signalWithStart alternate in this many rounds (throughput-seconds split between them). */
    rounds: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '32' },
    seed: { type: 'string', default: '42' },
    /** Comma-separated: storm, ingest, update, signal (profiling runs pick a subset). */
    phases: { type: 'string', default: 'storm,ingest,update,signal,plain' },
    /** Profiling: no inhibit rules and no topology merge (the groups never call the correlator). */
    'no-correlation': { type: 'boolean', default: false },
    /** Profiling: worker options, e.g. --worker '{"workflowThreadPoolSize":2}'. */
    worker: { type: 'string', default: '{}' },
    /** ingest.routingLeaseSeconds for both ingest servers (0: every batch asks its group). */
    'lease-seconds': { type: 'string', default: String(DEFAULT_ROUTING_LEASE_SECONDS) },
  },
});
const TOTAL = Number(args.alerts);
const SECONDS = Number(args.seconds);
const SERVICES = Number(args.services);
const THROUGHPUT_SECONDS = Number(args['throughput-seconds']);
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Math.max(1, Number(args.rounds));
const PHASES = new Set(args.phases.split(',').map((p) => p.trim()));
const LEASE_SECONDS = Number(args['lease-seconds']);

const AGGREGATION: AggregationSettingsInput = {
  groupWaitSeconds: 10,
  groupIntervalSeconds: 10,
  topologyMergeWindowSeconds: 300,
  inhibitRules: [{ name: 'critical mutes warning on the same service', source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: ['service', 'namespace'] }],
  ...(args['no-correlation'] ? { topologyMergeWindowSeconds: 0, inhibitRules: [] } : {}),
};

// ---- a deterministic workload ----
let rng = Number(args.seed) >>> 0;
const rand = () => {
  rng = (rng * 1664525 + 1013904223) >>> 0;
  return rng / 2 ** 32;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

const SIM_SERVICES = ['frontend', 'checkout', 'payment', 'payments-db', 'cart', 'cart-cache', 'inventory', 'inventory-db', 'catalog', 'search', 'shipping', 'orders-queue'];
const EXTRA = ['auth', 'users', 'users-db', 'recommendations', 'reviews', 'notifications', 'email', 'sms', 'ads', 'currency', 'tax', 'fraud', 'ledger', 'ledger-db', 'billing', 'invoices', 'reports', 'analytics', 'etl', 'kafka', 'zookeeper', 'redis-sessions', 'gateway', 'cdn-edge', 'images', 'thumbnails', 'uploads', 'audit', 'config', 'feature-flags', 'scheduler', 'cron', 'warehouse', 'returns', 'loyalty', 'coupons', 'pricing', 'geo'];
const SERVICE_NAMES = [...SIM_SERVICES, ...EXTRA].slice(0, SERVICES);
const ALERTS = [
  { alertname: 'HighErrorRate', severity: 'critical' },
  { alertname: 'HighLatency', severity: 'warning' },
  { alertname: 'PodCrashLooping', severity: 'critical' },
  { alertname: 'CPUThrottlingHigh', severity: 'warning' },
  { alertname: 'MemoryPressure', severity: 'warning' },
  { alertname: 'TargetDown', severity: 'critical' },
  { alertname: 'DiskWillFillIn4Hours', severity: 'warning' },
  { alertname: 'KafkaConsumerLag', severity: 'info' },
] as const;

interface Webhook {
  at: number;
  groupKey: string;
  body: string;
  fingerprints: string[];
}

function fp(labels: Record<string, string>): string {
  const text = Object.keys(labels).sort().map((k) => `${k}=${labels[k] ?? ''}`).join(',');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Service weights: a few loud services, a long tail. */
function buildStorm(total: number, runTag: string): { webhooks: Webhook[]; fingerprints: Map<string, string> } {
  const weights = SERVICE_NAMES.map((_, i) => 1 / (i + 1) ** 0.8);
  const sum = weights.reduce((a, b) => a + b, 0);
  const pickService = () => {
    let r = rand() * sum;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] ?? 0;
      if (r <= 0) return SERVICE_NAMES[i] ?? 'frontend';
    }
    return SERVICE_NAMES[0] ?? 'frontend';
  };
  const perServiceTypes = new Map(SERVICE_NAMES.map((s) => [s, ALERTS.filter(() => rand() < 0.35).concat([pick(ALERTS)])]));
  const webhooks: Webhook[] = [];
  const fingerprints = new Map<string, string>(); // fp → groupKey
  const t0 = Date.parse('2025-06-01T12:00:00Z');
  let made = 0;
  let podSeq = 0;
  while (made < total) {
    const service = pickService();
    const kind = pick(perServiceTypes.get(service) ?? ALERTS);
    const n = Math.min(total - made, 1 + Math.floor(rand() * 20));
    const at = (made / total) * SECONDS * 1000;
    const groupKey = `{}/{env="prod"}:{alertname="${kind.alertname}", service="${service}", run="${runTag}"}`;
    const alerts = Array.from({ length: n }, () => {
      const pod = `${service}-${(podSeq++).toString(36)}`;
      const labels = {
        alertname: kind.alertname,
        service,
        severity: kind.severity,
        namespace: 'shop',
        env: 'prod',
        region: pick(['eu-west-1', 'eu-central-1', 'us-east-1']),
        team: service.includes('db') ? 'data' : 'shop',
        job: service,
        pod,
        instance: `10.0.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}:9090`,
        run: runTag,
      };
      const f = fp(labels);
      fingerprints.set(f, groupKey);
      return {
        status: 'firing',
        labels,
        annotations: { summary: `${kind.alertname} on ${service} (${pod})`, runbook_url: `https://runbooks.local/${kind.alertname}` },
        startsAt: new Date(t0 + at).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: `http://prometheus.local/graph?g0.expr=${kind.alertname}`,
        fingerprint: f,
      };
    });
    made += n;
    const body = JSON.stringify({
      version: '4',
      groupKey,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'vigil',
      groupLabels: { alertname: kind.alertname, service },
      commonLabels: { alertname: kind.alertname, service, severity: kind.severity },
      commonAnnotations: {},
      externalURL: 'http://alertmanager.local',
      alerts,
    });
    webhooks.push({ at, groupKey, body, fingerprints: alerts.map((a) => a.fingerprint) });
    if (rand() < 0.05) webhooks.push({ at: at + 500 + rand() * 3000, groupKey, body, fingerprints: alerts.map((a) => a.fingerprint) });
  }
  webhooks.sort((a, b) => a.at - b.at);
  return { webhooks, fingerprints };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

async function withDeadline<T>(what: string, ms: number, fn: () => Promise<T | undefined>, everyMs = 500): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; undefined elsewhere or once it is gone). */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces): state is the 3rd field, utime the 14th, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

/** The dev server's process: the Temporal CLI whose command line names its gRPC port (the SDK's core spawns it, so Node has no handle on it). */
function devServerPid(address: string): number | undefined {
  const port = address.split(':').pop() ?? '';
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv.includes('start-dev') && argv.includes(port)) return Number(d);
    }
  } catch {
    // not Linux: CPU is not accounted
  }
  return undefined;
}

/** Closed loop: `concurrency` workers take jobs until `seconds` pass; returns alerts/s. */
interface LoopResult {
  /** Alerts of the requests that completed within the window, per second of the window. */
  alertsPerSecond: number;
  /** Alerts accepted within the window (a request still in flight at its end counts in its latency, not here). */
  alerts: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  /** The window (the senders stop starting requests at its end). */
  seconds: number;
  took: number[];
}

/** Rounds of one path as one result: alerts over the time of all its rounds, latencies pooled. */
function combine(rs: LoopResult[] | undefined): LoopResult | undefined {
  if (!rs || rs.length === 0) return undefined;
  const took = rs.flatMap((r) => r.took);
  const alerts = rs.reduce((n, r) => n + r.alerts, 0);
  const seconds = rs.reduce((n, r) => n + r.seconds, 0);
  return { alertsPerSecond: alerts / seconds, alerts, errors: rs.reduce((n, r) => n + r.errors, 0), p50: quantile(took, 0.5), p99: quantile(took, 0.99), max: Math.max(...took), seconds, took };
}

const perRound = (rs: LoopResult[] | undefined) => (rs ?? []).map((r) => r.alertsPerSecond.toFixed(0)).join(', ');

async function closedLoop(seconds: number, concurrency: number, job: (i: number) => Promise<number>): Promise<LoopResult> {
  const end = Date.now() + seconds * 1000;
  let next = 0;
  let alerts = 0;
  let errors = 0;
  const took: number[] = [];
  const start = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        try {
          // Not `alerts += await job()`: that reads `alerts` before the await, and concurrent
          // senders would overwrite each other's counts (earlier runs reported 9 alerts/s for 2,870 alerts in 10 s).
          const n = await job(next++);
          // Throughput is what completed within the window (as wrk counts it): one straggler
          // that answers 20 s late must not divide the whole window's work by 35 s.
          if (Date.now() <= end) alerts += n;
        } catch {
          errors++;
        }
        took.push(performance.now() - t);
      }
    }),
  );
  if (process.env['BENCH_DEBUG']) log(`  ${took.length} requests in ${((Date.now() - start) / 1000).toFixed(1)} s (the last ended ${((Date.now() - end) / 1000).toFixed(1)} s after the deadline), max ${Math.max(...took).toFixed(0)} ms`);
  const window = (end - start) / 1000;
  return { alertsPerSecond: alerts / window, alerts, errors, p50: quantile(took, 0.5), p99: quantile(took, 0.99), max: Math.max(...took), seconds: window, took };
}

const rate = (r: { alertsPerSecond: number } | undefined) => (r ? r.alertsPerSecond.toFixed(0) : 'not run');
const lat = (r: { p50: number; p99: number; max: number } | undefined) => (r ? `${r.p50.toFixed(0)} / ${r.p99.toFixed(0)} / ${r.max.toFixed(0)}` : '');
const ratio = (a: { alertsPerSecond: number } | undefined, b: { alertsPerSecond: number } | undefined) => (a && b ? (a.alertsPerSecond / b.alertsPerSecond).toFixed(2) : 'n/a');

/** `vigil ingest` as its own process with a configuration file; its URL from its first line, its batch counts from /metrics. */
async function startIngestProcess(config: Record<string, unknown>): Promise<{ url: string; pid: number | undefined; batchesVia(): Promise<{ lease: number; group: number }>; close(): Promise<void> }> {
  const file = join(mkdtempSync(join(tmpdir(), 'vigil-bench-config-')), 'vigil.yaml');
  writeFileSync(file, JSON.stringify(config));
  // BENCH_PROF_INGEST=<dir>: a CPU profile of the ingest process, written when it exits.
  const prof = process.env['BENCH_PROF_INGEST'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_PROF_INGEST']}`] : [];
  const child = spawn(process.execPath, [...prof, fileURLToPath(new URL('../bin/vigil.js', import.meta.url)), 'ingest', '--config', file, '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`vigil ingest exited (${code}) before listening: ${out}`)));
  });
  return {
    url,
    pid: child.pid,
    async batchesVia() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const count = (via: string) => Number(new RegExp(`^vigil_ingest_batches_delivered_total\\{via="${via}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { lease: count('lease'), group: count('group') };
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

installTemporalRuntime();
const log = (s: string) => process.stderr.write(`${s}\n`);
const startedAll = Date.now();
log('# starting the embedded Temporal dev server, the simulator (topology), a worker and ingest');
const server = await startDevServer({});
const sim = await startSimulator({ port: 0, seed: 7 });
const taskQueue = 'bench-alert-storm';
const config = loadConfig({
  env: {},
  overrides: {
    dataDir: mkdtempSync(join(tmpdir(), 'vigil-bench-')),
    temporal: { address: server.address, namespace: server.namespace, taskQueue },
    tools: { servers: [{ name: 'simulator', transport: 'http', url: sim.mcpUrl }], capabilities: { 'topology.get': { server: 'simulator', tool: CAPABILITY_TOOLS['topology.get'], argumentMap: {} } } },
    incident: { groupWaitSeconds: 0, metricsStepSeconds: 15 },
  },
});
const worker = await createVigilWorker(config, { connection: server.env.nativeConnection, extra: JSON.parse(args.worker) as Record<string, unknown> });
const running = worker.run();
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection, namespace: server.namespace });
const sink = new TemporalAlertSink(client, connection, { taskQueue, settings: { metricsStepSeconds: 15 }, aggregation: AGGREGATION, routingLeaseSeconds: LEASE_SECONDS });
const ingest = createIngestServer({ sink, logger: pino({ level: 'silent' }) });
const { url } = await ingest.listen(0, '127.0.0.1');
const post = async (body: string): Promise<{ status: number; text: string }> => {
  const res = await fetch(`${url}/v1/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, text: await res.text() };
};

/** 1. The storm: open loop on a schedule, then every group and incident is checked. */
async function runStorm(): Promise<{ lines: string[]; ok: boolean }> {
  const { webhooks, fingerprints } = buildStorm(TOTAL, `storm-${Date.now().toString(36)}`);
  const groups = new Set(webhooks.map((w) => w.groupKey));
  log(`# storm: ${TOTAL} alerts in ${webhooks.length} webhooks (${groups.size} groups, ${SERVICE_NAMES.length} services) over ${SECONDS}s`);
  const latencies: number[] = [];
  let failed = 0;
  const stormStart = Date.now();
  await Promise.all(
    webhooks.map(async (w) => {
      const wait = stormStart + w.at - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      const r = await post(w.body).catch((err: unknown) => ({ status: 0, text: String(err) }));
      latencies.push(performance.now() - t);
      if (r.status !== 202) {
        failed++;
        if (failed <= 5) log(`  ! ${r.status} ${r.text.slice(0, 200)}`);
      }
    }),
  );
  const stormSeconds = (Date.now() - stormStart) / 1000;
  log(`# storm sent in ${stormSeconds.toFixed(1)}s; waiting for group_wait/group_interval and checking every group`);

  // Wait until every group has no pending incident and nothing queued, then account.
  const statuses = await withDeadline('groups to settle', 600_000, async () => {
    const all = await Promise.all([...groups].map((k) => client.workflow.getHandle(groupIdFor(k)).query(groupStatusQuery)));
    // Busy: an incident still in group_wait, alerts queued for a flush, or alerts being
    // routed again (an incident closed under them and they were bounced or orphaned).
    const busy = all.filter(
      (g) =>
        g.state.incidents.some((i) => i.state === 'pending' || i.state === 'closing' || (i.state === 'open' && i.queue.length > 0)) ||
        Object.values(g.state.alerts).some((a) => a.incidentId === null && !a.suppressed && a.status === 'firing'),
    );
    return busy.length === 0 ? all : undefined;
  });
  const seen = new Map<string, number>();
  const incidentOf = new Map<string, string | null>();
  let suppressed = 0;
  const byReason: Record<string, number> = {};
  for (const g of statuses as GroupStatus[]) {
    for (const rec of Object.values(g.state.alerts)) {
      if (!fingerprints.has(rec.fingerprint)) continue;
      seen.set(rec.fingerprint, (seen.get(rec.fingerprint) ?? 0) + 1);
      incidentOf.set(rec.fingerprint, rec.incidentId);
      if (rec.suppressed) {
        suppressed++;
        byReason[rec.suppressed.reason] = (byReason[rec.suppressed.reason] ?? 0) + 1;
      }
    }
  }
  const missing = [...fingerprints.keys()].filter((f) => !seen.has(f));
  const twice = [...seen].filter(([, n]) => n !== 1);
  const unrouted = [...incidentOf].filter(([f, id]) => id === null && !(statuses as GroupStatus[]).some((g) => g.state.alerts[f]?.suppressed));
  const owned = new Set((statuses as GroupStatus[]).flatMap((g) => g.state.incidents.filter((i) => i.ownerGroup === g.groupId).map((i) => i.id)));
  const merged = (statuses as GroupStatus[]).reduce(
    (n, g) => n + g.state.incidents.filter((i) => i.ownerGroup === g.groupId).reduce((m, i) => m + i.merges.reduce((k, r) => k + r.fingerprints.length, 0), 0),
    0,
  );
  const duplicates = (statuses as GroupStatus[]).reduce((n, g) => n + g.state.counters.duplicates, 0);
  const cans = (statuses as GroupStatus[]).reduce((n, g) => n + g.state.counters.continuedAsNew, 0);
  const broken = (statuses as GroupStatus[]).reduce((n, g) => n + (g.state.counters.promisesBroken ?? 0), 0);
  const followUps = (statuses as GroupStatus[]).reduce((n, g) => n + (g.state.counters.followUps ?? 0), 0);
  const keptOverInhibition = (statuses as GroupStatus[]).reduce((n, g) => n + (g.state.counters.keptOverInhibition ?? 0), 0);
  // Where the alerts the lease misjudged went instead, by kind.
  const misjudged: Record<string, number> = {};
  for (const g of statuses as GroupStatus[])
    for (const rec of Object.values(g.state.alerts)) {
      if (!rec.promised || !fingerprints.has(rec.fingerprint)) continue;
      const said = rec.promised === 'suppressed' ? 'suppressed' : 'an incident';
      const went = rec.suppressed ? `suppressed (${rec.suppressed.reason})` : rec.incidentId ? (g.state.incidents.find((i) => i.id === rec.incidentId)?.state === 'linked' ? 'a linked incident' : 'another incident') : 'nowhere yet';
      const promisedInc = g.state.incidents.find((i) => i.id === rec.promised);
      const k = `said ${said}${promisedInc ? ` (${promisedInc.state}${promisedInc.outcome ? `: ${promisedInc.outcome}` : ''})` : rec.promised === 'suppressed' ? '' : ' (not in the records)'}, went to ${went}`;
      misjudged[k] = (misjudged[k] ?? 0) + 1;
    }

  // The incidents themselves: every routed fingerprint is in its incident's alert list.
  const routedTo = new Map<string, Set<string>>();
  for (const [f, id] of incidentOf) if (id) routedTo.set(id, (routedTo.get(id) ?? new Set()).add(f));
  let inIncidents = 0;
  const notInIncident: string[] = [];
  const pendingChecks = [...routedTo];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let job = pendingChecks.shift(); job; job = pendingChecks.shift()) await checkIncident(job);
    }),
  );
  async function checkIncident([id, fps]: [string, Set<string>]): Promise<void> {
    {
      let last = 'no answer';
      const st = await withDeadline(`incident ${id}`, 60_000, async () => {
        const s: IncidentStatus | undefined = await client.workflow
          .getHandle(id)
          .query(statusQuery)
          .catch((err: unknown) => {
            last = `query failed: ${(err as Error).message.slice(0, 120)}`;
            return undefined;
          });
        if (!s) return undefined;
        // The status lists at most 500 alerts: every one is read through the paged query.
        const have = new Set<string>();
        for (let offset: number | null = 0; offset !== null; ) {
          const page: AlertsPage = await client.workflow.getHandle(id).query(incidentAlertsQuery, { offset });
          for (const a of page.alerts) have.add(a.fingerprint);
          offset = page.nextOffset;
        }
        const absent = [...fps].filter((f) => !have.has(f));
        last = `${absent.length} of ${fps.size} absent (stage ${s.stage}, ${have.size} alerts)`;
        return absent.length === 0 ? s : undefined;
      }).catch(() => undefined);
      if (!st) {
        notInIncident.push(`${id}: ${last}`);
        return;
      }
      inIncidents += fps.size;
    }
  }
  const accounted = TOTAL - missing.length - twice.length - unrouted.length;
  if (process.env['BENCH_DEBUG'] && notInIncident.length > 0) {
    const id = (notInIncident[0] ?? '').split(':')[0] ?? '';
    for (const g of statuses as GroupStatus[]) {
      const recs = Object.values(g.state.alerts).filter((a) => a.incidentId === id).length;
      const inc = g.state.incidents.find((i) => i.id === id);
      if (recs > 0 || inc) log(`debug ${id} in ${g.groupId}: ${recs} records; incident ${JSON.stringify(inc ? { ...inc, queue: inc.queue.length, fingerprints: inc.fingerprints.length, foreign: Object.keys(inc.foreign ?? {}).length } : null)}`);
    }
  }
  const incidents = owned.size;
  const lines = [
    '| storm | |',
    '|---|---|',
    `| alerts sent | ${TOTAL} in ${webhooks.length} webhooks (${webhooks.length - new Set(webhooks.map((w) => w.body)).size} redelivered), ${groups.size} groups, ${SERVICE_NAMES.length} services, over ${stormSeconds.toFixed(1)} s |`,
    `| webhooks refused | ${failed} |`,
    `| alerts accounted for | ${accounted} / ${TOTAL} (missing ${missing.length}, in more than one group ${twice.length}, neither routed nor suppressed ${unrouted.length}) |`,
    `| routed alerts found in their incident's status | ${inIncidents} / ${[...incidentOf.values()].filter(Boolean).length}${notInIncident.length ? ` (not yet in: ${notInIncident.slice(0, 3).join(', ')})` : ''} |`,
    `| suppressed | ${suppressed} (${Object.entries(byReason).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}) |`,
    `| duplicates dropped | ${duplicates} |`,
    `| incidents opened | ${incidents} (alerts merged across groups: ${merged}) |`,
    `| reduction ratio | ${(TOTAL / Math.max(1, incidents)).toFixed(1)} alerts per incident (${groups.size} groups → ${incidents} incidents) |`,
    `| group continue-as-new | ${cans} |`,
    `| webhook batches answered from the routing lease / by the group | ${ingest.metrics.batchesDelivered.get({ via: 'lease' })} / ${ingest.metrics.batchesDelivered.get({ via: 'group' })} |`,
    `| alerts that did not go where the 202 said (promisesBroken) | ${broken}${Object.keys(misjudged).length ? ` (${Object.entries(misjudged).map(([k, v]) => `${k}: ${v}`).join('; ')})` : ''} |`,
    `| alerts kept in the incident their lease's 202 named though an inhibiting alert began firing first (keptOverInhibition) | ${keptOverInhibition} |`,
    `| alerts that reached their incident after its diagnosis and went on to a follow-up incident (followUps) | ${followUps} |`,
    `| ingest latency p50 / p99 / max | ${quantile(latencies, 0.5).toFixed(1)} / ${quantile(latencies, 0.99).toFixed(1)} / ${Math.max(...latencies).toFixed(1)} ms |`,
  ];
  return { lines, ok: accounted === TOTAL && failed === 0 };
}

try {
  const storm = PHASES.has('storm') ? await runStorm() : { lines: ['(storm not run)'], ok: true };
  if (PHASES.has('storm')) {
    // The storm's incidents (and their follow-ups) finish before throughput is measured, so
    // no phase competes with their diagnoses for the CPU.
    const t = Date.now();
    await withDeadline('the storm incidents to finish', 600_000, async () => {
      const { count } = await client.workflow.count(`TaskQueue="${taskQueue}" AND WorkflowType="IncidentWorkflow" AND ExecutionStatus="Running"`);
      return count === 0 ? true : undefined;
    });
    log(`# storm incidents finished ${((Date.now() - t) / 1000).toFixed(1)} s after the accounting`);
  }

  // ---------------- 2. throughput ----------------
  // Throughput groups never reach group_wait during the run, so no incident workflow
  // competes for the CPU with the measurement; dedup, inhibition and the correlator
  // (one candidate per new group) still run on every delivery.
  log(`# throughput: ${THROUGHPUT_SECONDS}s each, concurrency ${CONCURRENCY}`);
  // Ingest runs as it is deployed: `vigil ingest` in its own process, configured by a file.
  // No topology merge here: merged, the 400 groups' alerts pour into a few incidents, whose
  // queues reach the group's limit (1,000) and open them, and their diagnoses then compete
  // with the measurement (the storm above measures merging).
  const tpAggregation = { ...AGGREGATION, groupWaitSeconds: 3600, topologyMergeWindowSeconds: 0 };
  const tpSink = new TemporalAlertSink(client, connection, { taskQueue, aggregation: tpAggregation });
  const tpIngest = await startIngestProcess({
    dataDir: mkdtempSync(join(tmpdir(), 'vigil-bench-ingest-')),
    temporal: { address: server.address, namespace: server.namespace, taskQueue },
    ingest: { routingLeaseSeconds: LEASE_SECONDS },
    aggregation: tpAggregation,
  });
  const tpUrl = tpIngest.url;
  const tpPost = async (body: string) => {
    const res = await fetch(`${tpUrl}/v1/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.text();
    return res.status;
  };
  const batchFor = (tag: string, i: number): { batch: AlertBatch; body: string } => {
    const service = SERVICE_NAMES[i % SERVICE_NAMES.length] ?? 'frontend';
    const kind = ALERTS[Math.floor(i / SERVICE_NAMES.length) % ALERTS.length] ?? ALERTS[0];
    const groupKey = `{}/{env="prod"}:{alertname="${kind.alertname}", service="${service}", run="${tag}-${i % 400}"}`;
    const alerts: Alert[] = Array.from({ length: 10 }, (_, j) => {
      const labels = { alertname: kind.alertname, service, severity: kind.severity, namespace: 'shop', pod: `${service}-${i}-${j}`, run: tag };
      return { fingerprint: fp(labels), status: 'firing', labels, annotations: { summary: 'x' }, startsAt: new Date(Date.UTC(2025, 5, 1) + i * 1000).toISOString(), source: 'alertmanager' };
    });
    const body = JSON.stringify({
      version: '4',
      groupKey,
      status: 'firing',
      alerts: alerts.map((a) => ({ status: a.status, labels: a.labels, annotations: a.annotations, startsAt: a.startsAt, fingerprint: a.fingerprint })),
    });
    return { batch: { groupKey, alerts, deliveryId: deliveryIdFor(groupKey, alerts) }, body };
  };
  const startOp = (groupKey: string) =>
    new WithStartWorkflowOperation(ALERT_GROUP_WORKFLOW, { workflowId: groupIdFor(groupKey), taskQueue, args: [tpSink.groupInput(groupKey)], workflowIdConflictPolicy: 'USE_EXISTING' });
  /**
   * Two untimed batches to each of the 400 groups a path uses, through the path itself
   * (ingest asks for a group's routing lease from its second batch within the lease).
   */
  /** Sends the batches `ids`, CONCURRENCY at a time, untimed. */
  const sendAll = async (ids: number[], job: (i: number) => Promise<number>) => {
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      for (let i = ids.shift(); i !== undefined; i = ids.shift()) await job(i);
    }));
  };
  const warm = async (name: string, job: (i: number) => Promise<number>) => {
    const t = Date.now();
    await sendAll(Array.from({ length: 800 }, (_, i) => i), job);
    log(`  (${name}: warmed 400 groups, 2 batches each, in ${((Date.now() - t) / 1000).toFixed(1)} s)`);
  };
  const jobs: Record<'ingest' | 'update' | 'signal' | 'plain', (i: number) => Promise<number>> = {
    ingest: async (i) => {
      const { body } = batchFor('tp-ingest', i);
      const status = await tpPost(body);
      if (status !== 202) throw new Error(String(status));
      return 10;
    },
    update: async (i) => {
      const { batch } = batchFor('tp-update', i);
      await client.workflow.executeUpdateWithStart(deliverAlertsUpdate, { args: [batch], startWorkflowOperation: startOp(batch.groupKey) });
      return 10;
    },
    // A plain signal to a running group (what ingest sends under a lease); the warm-up starts the groups.
    plain: async (i) => {
      const { batch } = batchFor('tp-plain', i);
      if (i < 800) await client.workflow.signalWithStart(ALERT_GROUP_WORKFLOW, { workflowId: groupIdFor(batch.groupKey), taskQueue, args: [tpSink.groupInput(batch.groupKey)], signal: alertsSignal, signalArgs: [batch] });
      else await client.workflow.getHandle(groupIdFor(batch.groupKey)).signal(alertsSignal, batch);
      return 10;
    },
    signal: async (i) => {
      const { batch } = batchFor('tp-signal', i);
      await client.workflow.signalWithStart(ALERT_GROUP_WORKFLOW, {
        workflowId: groupIdFor(batch.groupKey),
        taskQueue,
        args: [tpSink.groupInput(batch.groupKey)],
        signal: alertsSignal,
        signalArgs: [batch],
      });
      return 10;
    },
  };
  /** Timed batches of each path: new alerts to its warmed groups. */
  // Batches sent per path (the warm-up's 800 included).
  const next = { ingest: 800, update: 800, signal: 800, plain: 800 };
  const rounds: Partial<Record<keyof typeof jobs, LoopResult[]>> = {};
  const tags = { ingest: 'tp-ingest', update: 'tp-update', signal: 'tp-signal', plain: 'tp-plain' } as const;
  /**
   * Waits until the path's 400 groups have taken every batch handed to them (accepted is
   * not processed: a fire-and-forget path leaves the worker a backlog that would slow
   * whatever runs next). Returns the seconds it took.
   */
  const drain = async (name: keyof typeof jobs) => {
    const t = Date.now();
    const ids = Array.from({ length: 400 }, (_, i) => groupIdFor(batchFor(tags[name], i).batch.groupKey));
    // Bounded: a worker that has not caught up within five minutes is reported, not waited
    // for (a round timed against the previous one's backlog measures the worker, not the path).
    // Every 2 s: each check is 400 queries, which the same worker answers.
    await withDeadline(`the ${name} groups to take their batches`, 300_000, async () => {
      let taken = 0;
      const queue = [...ids];
      await Promise.all(Array.from({ length: 16 }, async () => {
        for (let id = queue.shift(); id; id = queue.shift()) {
          const g = await client.workflow.getHandle(id).query(groupStatusQuery).catch((err: unknown) => {
            if (process.env['BENCH_DEBUG']) log(`  (${name}: ${id} did not answer: ${(err as Error).message.slice(0, 200)})`);
            throw err;
          });
          taken += g.state.counters.deliveries; // after the await: concurrent readers
        }
      }));
      if (process.env['BENCH_DEBUG']) log(`  (${name}: groups took ${taken} of ${next[name]} batches)`);
      return taken >= next[name] ? true : undefined;
    }, 2_000).catch(() => log(`  (${name}: the worker had not caught up after 300 s; going on)`));
    return (Date.now() - t) / 1000;
  };
  const drained: Record<string, number[]> = {};
  /** Ingest batches by who answered them, in the timed rounds only. */
  const measuredVia = { lease: 0, group: 0 };
  /** CPU seconds used in the timed windows, by process, per path (the worker runs in this process). */
  const serverPid = devServerPid(server.address);
  const cpuPids = { bench: process.pid, ingest: tpIngest.pid, server: serverPid };
  const cpu: Partial<Record<keyof typeof jobs, { bench: number; ingest: number; server: number; batches: number }>> = {};
  const cpuNow = () => Object.fromEntries(Object.entries(cpuPids).map(([k, pid]) => [k, cpuSecondsOf(pid) ?? NaN])) as { bench: number; ingest: number; server: number };
  const measure = async (name: keyof typeof jobs, seconds: number) => {
    const before = name === 'ingest' ? await tpIngest.batchesVia() : undefined;
    const cpu0 = cpuNow();
    const result = await closedLoop(seconds, CONCURRENCY, () => jobs[name](next[name]++));
    const cpu1 = cpuNow();
    const acc = (cpu[name] ??= { bench: 0, ingest: 0, server: 0, batches: 0 });
    acc.bench += cpu1.bench - cpu0.bench;
    acc.ingest += cpu1.ingest - cpu0.ingest;
    acc.server += cpu1.server - cpu0.server;
    acc.batches += result.took.length;
    (rounds[name] ??= []).push(result);
    if (before) {
      const after = await tpIngest.batchesVia();
      measuredVia.lease += after.lease - before.lease;
      measuredVia.group += after.group - before.group;
    }
    (drained[name] ??= []).push(await drain(name));
  };
  /**
   * Ingest is timed in its steady state, every group holding a lease: a warm-up slower than
   * the lease (a busy worker) leaves lapsed ones, so untimed passes (a batch to each group,
   * then the worker catches up) go on until one is answered 95 % from leases (at most 4).
   */
  const settleLeases = async () => {
    for (let pass = 1; pass <= 4; pass++) {
      const before = await tpIngest.batchesVia();
      await sendAll(Array.from({ length: 400 }, () => next.ingest++), jobs.ingest);
      const leased = (await tpIngest.batchesVia()).lease - before.lease;
      await drain('ingest');
      log(`  (ingest: lease pass ${pass}: ${leased} of 400 batches answered from a lease)`);
      if (leased >= 380) return;
    }
  };
  // Ingest and bare signalWithStart, the goal's ratio, alternate in short rounds (A B B A ...),
  // each from an idle worker (the previous round's batches all taken), so that both meet
  // the same background.
  const paired = (['ingest', 'signal', 'plain'] as const).filter((p) => PHASES.has(p));
  if (ROUNDS === 1) {
    // One round each: warm, let the worker catch up, measure (a lease is then as fresh as in a running storm).
    for (const p of paired) {
      await warm(p, jobs[p]);
      await drain(p);
      if (p === 'ingest') await settleLeases();
      await measure(p, THROUGHPUT_SECONDS);
    }
  } else {
    for (const p of paired) {
      await warm(p, jobs[p]);
      await drain(p);
    }
    // Ingest's groups last heard from it before the other path's round and the worker's
    // catch-up (tens of seconds, about a lease): as in a storm, where a group's batches keep
    // coming, each ingest round starts with its groups' leases held.
    for (let r = 0; r < ROUNDS; r++)
      for (const p of r % 2 === 0 ? paired : [...paired].reverse()) {
        if (p === 'ingest') await settleLeases();
        await measure(p, THROUGHPUT_SECONDS / ROUNDS);
      }
  }
  // Update-with-start (the strict path's ceiling) after them: its warm-up is long.
  if (PHASES.has('update')) {
    await warm('update', jobs.update);
    await measure('update', THROUGHPUT_SECONDS);
  }
  for (const [p, secs] of Object.entries(drained)) log(`  (${p}: the worker took ${secs.map((x) => x.toFixed(1)).join(', ')} s after each round to catch up)`);
  const viaIngest = combine(rounds.ingest);
  const viaUpdate = combine(rounds.update);
  const viaSignal = combine(rounds.signal);
  const viaPlain = combine(rounds.plain);
  const via = await tpIngest.batchesVia();
  log(`  ingest HTTP: ${rate(viaIngest)} alerts/s (${viaIngest?.errors ?? 0} errors, latency p50/p99/max ${lat(viaIngest)} ms; rounds ${perRound(rounds.ingest)}); batches under a lease ${via.lease}, asking the group ${via.group} (warm-up included)`);
  const cpuLine = (p: keyof typeof jobs) => {
    const c = cpu[p];
    if (!c || c.batches === 0) return 'not run';
    const per = (x: number) => (Number.isFinite(x) ? ((1000 * x) / c.batches).toFixed(2) : '?');
    return `bench+worker ${per(c.bench)} / ingest ${p === 'ingest' ? per(c.ingest) : '-'} / server ${per(c.server)}`;
  };
  for (const p of ['ingest', 'signal', 'plain', 'update'] as const) if (cpu[p]) log(`  (${p}: CPU ms per batch in the timed windows: ${cpuLine(p)})`);
  log(`  bare update-with-start: ${rate(viaUpdate)} alerts/s (${viaUpdate?.errors ?? 0} errors, latency p50/p99/max ${lat(viaUpdate)} ms)`);
  log(`  bare signalWithStart: ${rate(viaSignal)} alerts/s (${viaSignal?.errors ?? 0} errors, latency p50/p99/max ${lat(viaSignal)} ms; rounds ${perRound(rounds.signal)})`);
  log(`  bare signal: ${rate(viaPlain)} alerts/s (${viaPlain?.errors ?? 0} errors, latency p50/p99/max ${lat(viaPlain)} ms; rounds ${perRound(rounds.plain)})`);
  await tpIngest.close();

  // ---------------- report ----------------
  const out = [
    `Run ${new Date().toISOString()} — \`node --import tsx bench/alert-storm.ts --alerts ${TOTAL} --seconds ${SECONDS} --services ${SERVICES}\` (Node ${process.version}, ${process.platform}/${process.arch}; embedded dev server and worker in this process, the storm's ingest server too; the throughput's ingest is a vigil ingest process; lease ${LEASE_SECONDS} s${args['no-correlation'] ? '; --no-correlation: no inhibit rules, no topology merge' : ''})`,
    '',
    ...storm.lines,
    '',
    `| throughput (${THROUGHPUT_SECONDS} s each; ${ROUNDS > 1 ? `ingest and the bare paths alternating in ${ROUNDS} rounds; ` : 'each from an idle worker; '}${CONCURRENCY} concurrent senders, 10 alerts per batch, 400 groups, group_wait not reached) | alerts/s (completed within the window) | latency p50 / p99 / max ms | errors |`,
    '|---|---|---|---|',
    `| \`vigil ingest\` process (timed: ${measuredVia.lease} batches under a routing lease → signal, ${measuredVia.group} asking the group → update-with-start; with the untimed warm-up ${via.lease} / ${via.group}; lease ${LEASE_SECONDS} s) | ${rate(viaIngest)} | ${lat(viaIngest)} | ${viaIngest?.errors ?? ''} |`,
    `| bare client update-with-start (same workflow, same batches) | ${rate(viaUpdate)} | ${lat(viaUpdate)} | ${viaUpdate?.errors ?? ''} |`,
    `| bare client signalWithStart (same workflow, fire and forget) | ${rate(viaSignal)} | ${lat(viaSignal)} | ${viaSignal?.errors ?? ''} |`,
    `| **ratio ingest / bare signalWithStart** | **${ratio(viaIngest, viaSignal)}** (goal ≥ 0.8) | | |`,
    `| bare client signal to the running group (what ingest sends under a lease) | ${rate(viaPlain)} | ${lat(viaPlain)} | ${viaPlain?.errors ?? ''} |`,
    `| ratio ingest / bare update-with-start | ${ratio(viaIngest, viaUpdate)} | | |`,
    `| ratio ingest / bare signal | ${ratio(viaIngest, viaPlain)} | | |`,
    ...(ROUNDS > 1 && rounds.ingest && rounds.signal
      ? ['', `Per round (ingest / signalWithStart${rounds.plain ? ' / signal' : ''} alerts/s): ${rounds.ingest.map((r, i) => [r, rounds.signal?.[i], ...(rounds.plain ? [rounds.plain[i]] : [])].map((x) => x?.alertsPerSecond.toFixed(0) ?? '-').join(' / ')).join('; ')}.`]
      : []),
    '',
    `CPU ms per batch in the timed windows (this process holds the senders and the worker; the Temporal dev server is its own process): ingest path ${cpuLine('ingest')}; signalWithStart ${cpuLine('signal')}${cpu.plain ? `; signal ${cpuLine('plain')}` : ''}${cpu.update ? `; update-with-start ${cpuLine('update')}` : ''}.`,
    '',
    `Total run time ${((Date.now() - startedAll) / 1000).toFixed(0)} s.`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  process.exitCode = storm.ok ? 0 : 1;
} catch (err) {
  log(`# benchmark failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
} finally {
  await ingest.close();
  worker.shutdown();
  await running.catch(() => undefined);
  await connection.close();
  await sim.close();
  await server.stop();
  // Activities of incidents still running at shutdown would keep the process alive.
  process.exit(process.exitCode ?? 0);
}
