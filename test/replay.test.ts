/**
 * The dataset replay server: real recorded cases (../shared/datasets) served through
 * the simulator's MCP tools over Streamable HTTP and stdio, baseline placed before the
 * window, truth.json never opened, and clear errors for what is not a case bundle.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { BASELINE_TOOLS, InvalidCaseError, MetricsBaselineOutput, ReplayModel, startReplayServer, topologyFromJson, TracesBaselineOutput, type ReplayHttp } from '../src/replay/index.js';
import { CAPABILITY_TOOLS, LogsSearchOutput, MetricsQueryRangeOutput, TopologyGetOutput, TracesSearchOutput } from '../src/schemas/capabilities.js';
import { DATASETS_DIR } from './support/load-case.js';
import { tempDir } from './support/temporal.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** A nezha-ob case with metrics, logs, traces, topology and baseline. */
const NEZHA_WITH_LOGS = 'ob-20220822-051809';
const SOCKSHOP = 'ss-0e898413';

/**
 * A copy of a real case whose truth.json is a FIFO: opening it for reading blocks
 * forever, so a server that so much as opened it would never answer.
 */
function copyCase(dataset: string, id: string, opts: { dropTopology?: boolean } = {}): string {
  const dir = join(tempDir('replay-case'), id);
  cpSync(join(DATASETS_DIR, dataset, 'cases', id), dir, { recursive: true });
  rmSync(join(dir, 'truth.json'), { force: true });
  const fifo = spawnSync('mkfifo', [join(dir, 'truth.json')]);
  assert.equal(fifo.status, 0, 'mkfifo is needed for this test');
  if (opts.dropTopology) rmSync(join(dir, 'topology.json'));
  return dir;
}

async function connectHttp(url: string): Promise<Client> {
  const client = new Client({ name: 'replay-http-test', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; data: unknown; text: string }> {
  const r = await client.callTool({ name, arguments: args });
  const text = (r.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('');
  return { isError: r.isError === true, data: r.structuredContent, text };
}

void describe('a recorded nezha-ob case over Streamable HTTP', () => {
  let server: ReplayHttp & { model: ReplayModel };
  let client: Client;
  // A server that opened the truth.json FIFO would hang here: the timeout turns that into a failure.
  before(async () => {
    server = await startReplayServer({ caseDir: copyCase('nezha-ob', NEZHA_WITH_LOGS), port: 0 });
    client = await connectHttp(server.mcpUrl);
  }, { timeout: 30_000 });
  after(async () => {
    await client.close();
    await server.close();
  });

  void test('offers the simulator tool names; remediation tools refuse: a recording cannot be acted on', async () => {
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(names, Object.values(CAPABILITY_TOOLS).sort());
    const r = await call(client, 'service_restart', { service: 'frontend', idempotencyKey: 'eval-test-key-1' });
    assert.equal(r.isError, true);
    assert.match(r.text, /^recorded_incident: service_restart refused: case ob-20220822-051809 is a recorded incident/);
  });

  void test('serves metrics, logs, traces and topology of the case in the shapes of the capability schemas', { timeout: 30_000 }, async () => {
    const { start, end } = server.model.window;
    const metrics = MetricsQueryRangeOutput.parse((await call(client, 'metrics_query_range', { start, end, step: 60 })).data);
    assert.ok(metrics.series.length > 100, `${metrics.series.length} series`);
    const cpu = metrics.series.find((s) => s.service === 'frontend' && s.metric === 'cpu_usage_rate_percent');
    assert.ok(cpu && cpu.points.length >= 60, 'an hour of 1-minute frontend cpu points');
    assert.ok(cpu.points.every(([t]) => t >= start && t <= end));

    const logs = LogsSearchOutput.parse((await call(client, 'logs_search', { start, end, limit: 50_000 })).data);
    assert.ok(logs.logs.length > 1000, `${logs.logs.length} log records`);
    const errors = LogsSearchOutput.parse((await call(client, 'logs_search', { start, end, level: 'error', service: 'frontend' })).data);
    assert.ok(errors.logs.every((l) => l.service === 'frontend' && /error|fatal|critical/i.test(l.level ?? '')));

    const traces = TracesSearchOutput.parse((await call(client, 'traces_search', { start, end, limit: 200_000 })).data);
    assert.ok(traces.spans.length > 1000 && !traces.truncated, `${traces.spans.length} spans`);
    const capped = TracesSearchOutput.parse((await call(client, 'traces_search', { start, end, limit: 100 })).data);
    assert.ok(capped.truncated && capped.spans.length <= 100, 'the newest whole traces up to limit spans');

    const topology = TopologyGetOutput.parse((await call(client, 'topology_get', {})).data);
    assert.equal(topology.services.length, 10);
    assert.ok(topology.edges.some((e) => e.source === 'frontend' && e.target === 'checkoutservice'));
  });

  void test('the fault-free baseline is served before the case window', async () => {
    const info = await server.model.baselineInfo();
    const metricsBase = info.find((b) => b.kind === 'metrics');
    assert.ok(metricsBase?.served, 'metrics baseline is served');
    assert.ok(metricsBase.recorded.start > server.model.window.end, 'nezha-ob records it hours after the case');
    assert.ok(metricsBase.served.end < server.model.window.start, 'it is served just before the window');
    const coverage = await server.model.coverage();
    const before = MetricsQueryRangeOutput.parse((await call(client, 'metrics_query_range', { start: coverage.start, end: server.model.window.start - 1, step: 60 })).data);
    const points = before.series.reduce((n, s) => n + s.points.length, 0);
    assert.equal(points, metricsBase.count, 'a query before the window returns exactly the baseline points');
    const traces = TracesSearchOutput.parse((await call(client, 'traces_search', { start: coverage.start, end: server.model.window.start - 1 })).data);
    assert.ok(traces.spans.length > 0, 'baseline traces too');
  });

  void test('metrics_baseline and traces_baseline return the baseline as recorded, with its period', async () => {
    const metrics = MetricsBaselineOutput.parse((await call(client, 'metrics_baseline', { step: 60, service: 'frontend' })).data);
    assert.ok(metrics.period && metrics.period.start > server.model.window.end, 'recorded hours after the case (nezha-ob)');
    assert.ok(metrics.series.length > 0 && metrics.series.every((s) => s.service === 'frontend'));
    assert.ok(metrics.series.every((s) => s.points.every(([t]) => t >= (metrics.period?.start ?? 0) && t <= (metrics.period?.end ?? 0))));
    const traces = TracesBaselineOutput.parse((await call(client, 'traces_baseline', { limit: 200_000 })).data);
    assert.ok(traces.spans.length > 1000 && traces.period !== null);
  });

  void test('an inverted window or an unknown level is a tool error with a stable code', async () => {
    const r = await call(client, 'metrics_query_range', { start: 200, end: 100 });
    assert.equal(r.isError, true);
    assert.match(r.text, /^invalid_query: start \(200\) is after end \(100\)/);
    assert.match((await call(client, 'logs_search', { start: 0, end: 1, level: 'loud' })).text, /^invalid_query: unknown level "loud"/);
  });

  void test('never opens truth.json', () => {
    const opened = server.model.filesRead.map((f) => f.slice(server.model.bundle.dir.length + 1));
    assert.deepEqual(
      [...opened].sort(),
      ['baseline/metrics.csv.gz', 'baseline/traces.jsonl.gz', 'case.json', 'logs.jsonl.gz', 'metrics.csv.gz', 'topology.json', 'traces.jsonl.gz'],
    );
  });
});

void describe('a recorded sockshop case over stdio', () => {
  let client: Client;
  let dir: string;
  before(async () => {
    dir = copyCase('sockshop-rcd', SOCKSHOP);
    client = new Client({ name: 'replay-stdio-test', version: '0.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: ['--import', 'tsx', 'src/replay/stdio-main.ts', '--case', dir], cwd: REPO, stderr: 'pipe' }));
  }, { timeout: 30_000 });
  after(async () => {
    await client.close();
  });

  void test('serves 1-second metrics at their resolution, averages a coarser step, and the topology', { timeout: 30_000 }, async () => {
    const model = await ReplayModel.open(dir);
    const { start, end } = model.window;
    const raw = MetricsQueryRangeOutput.parse((await call(client, 'metrics_query_range', { start, end, step: 1, service: 'carts', metric: 'cpu_usage_percent' })).data);
    assert.equal(raw.series.length, 1);
    const n = raw.series[0]?.points.length ?? 0;
    assert.ok(n > 500, `${n} one-second points`);
    const coarse = MetricsQueryRangeOutput.parse((await call(client, 'metrics_query_range', { start, end, step: 60, service: 'carts', metric: 'cpu_usage_percent' })).data);
    const m = coarse.series[0]?.points.length ?? 0;
    assert.ok(m >= 9 && m <= 11, `${m} one-minute averages`);
    const topology = TopologyGetOutput.parse((await call(client, 'topology_get', {})).data);
    assert.ok(topology.services.some((s) => s.name === 'carts-db' && s.kind === 'service'), 'plain service names become services');
    const logs = LogsSearchOutput.parse((await call(client, 'logs_search', { start, end })).data);
    assert.deepEqual(logs, { logs: [], truncated: false }, 'a case without logs answers empty');
    assert.deepEqual((await call(client, 'metrics_baseline', {})).data, { series: [], period: null }, 'no baseline: empty, period null');
  });
});

void describe('cases without a topology, and what is not a case', () => {
  void test('the call graph is derived from the traces when topology.json is absent', async () => {
    const model = await ReplayModel.open(copyCase('nezha-ob', NEZHA_WITH_LOGS, { dropTopology: true }));
    const topology = await model.topology();
    assert.ok(topology.services.some((s) => s.name === 'frontend'));
    assert.ok(topology.edges.some((e) => e.source === 'frontend' && e.target === 'checkoutservice' && e.kind === 'calls'));
  });

  void test('a dataset folder, a missing folder or a case without metrics is a clear error', async () => {
    await assert.rejects(ReplayModel.open(join(DATASETS_DIR, 'sockshop-rcd')), (err: unknown) => err instanceof InvalidCaseError && /is not a case bundle: no case\.json$/.test(err.message));
    await assert.rejects(startReplayServer({ caseDir: '/nonexistent/case' }), /is not a case bundle: no such directory/);
    const noMetrics = copyCase('sockshop-rcd', SOCKSHOP);
    rmSync(join(noMetrics, 'metrics.csv.gz'));
    await assert.rejects(ReplayModel.open(noMetrics), /is not a case bundle: no metrics\.csv or metrics\.csv\.gz/);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/replay/stdio-main.ts', '--case', join(DATASETS_DIR, 'petshop')], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^vigil replay: .*petshop is not a case bundle: no case\.json\n$/);
  });

  void test("topology.json's plain service names become services", () => {
    const t = topologyFromJson({ services: ['a', { name: 'b', kind: 'database' }], edges: [{ source: 'a', target: 'b' }] });
    assert.deepEqual(t, {
      services: [
        { name: 'a', kind: 'service', instances: [] },
        { name: 'b', kind: 'database', instances: [] },
      ],
      edges: [{ source: 'a', target: 'b', kind: 'calls' }],
      changes: [],
    });
  });
});
