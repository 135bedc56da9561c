/**
 * The built-in simulator through the interfaces vigil uses: an MCP client over an
 * in-memory pair, over Streamable HTTP (with the JSON control API beside it), and over
 * stdio in a child process. A bad release in payment is the running example.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  ActionOutput,
  BASELINE_CAPABILITIES,
  CAPABILITY_TOOLS,
  LogsSearchOutput,
  MetricsQueryRangeOutput,
  ServiceState,
  TopologyGetOutput,
  TracesSearchOutput,
} from '../src/schemas/capabilities.js';
import { createSimulatorMcpServer, SimulatorModel, startSimulatorHttp, type SimulatorHttp } from '../src/simulator/index.js';

/** Every capability tool but the optional fault-free baselines, which the simulator does not offer. */
const SIMULATOR_TOOLS = Object.entries(CAPABILITY_TOOLS)
  .filter(([c]) => !(BASELINE_CAPABILITIES as readonly string[]).includes(c))
  .map(([, tool]) => tool)
  .sort();

const T0 = 1_715_000_000;
const REPO = fileURLToPath(new URL('..', import.meta.url));

/** A model on a hand-driven clock. */
function clockedModel(seed: number | string = 42): { model: SimulatorModel; advance(seconds: number): number; now(): number } {
  let now = T0;
  const model = new SimulatorModel({ seed, now: () => now });
  return { model, advance: (s) => (now += s), now: () => now };
}

async function connectInMemory(model: SimulatorModel): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createSimulatorMcpServer(model).connect(serverSide);
  const client = new Client({ name: 'simulator-test', version: '0.0.0' });
  await client.connect(clientSide);
  return client;
}

interface ToolResult {
  isError?: boolean;
  structuredContent?: unknown;
  content?: unknown;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

function errorText(r: ToolResult): string {
  const content = r.content as { type: string; text?: string }[] | undefined;
  return content?.map((c) => c.text ?? '').join('\n') ?? '';
}

async function meanMetric(client: Client, service: string, metric: string, start: number, end: number): Promise<number> {
  const r = await call(client, 'metrics_query_range', { start, end, step: 15, service, metric });
  assert.ok(!r.isError, errorText(r));
  const { series } = MetricsQueryRangeOutput.parse(r.structuredContent);
  const values = series.flatMap((s) => s.points.map(([, v]) => v));
  assert.ok(values.length > 0, `no ${metric} points for ${service}`);
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** First time (relative to T0) a service's error rate, on any instance, exceeds `threshold`. */
async function errorOnset(client: Client, service: string, threshold: number): Promise<number> {
  const r = await call(client, 'metrics_query_range', { start: T0 - 60, end: T0 + 180, step: 5, service, metric: 'error_rate' });
  const { series } = MetricsQueryRangeOutput.parse(r.structuredContent);
  const onsets = series.map((s) => s.points.find(([, v]) => v > threshold)?.[0] ?? Infinity);
  return Math.min(...onsets) - T0;
}

void describe('a bad release in payment, seen through MCP', () => {
  const sim = clockedModel();
  let client: Client;

  before(async () => {
    sim.model.inject({ kind: 'bad-release', service: 'payment' });
    sim.advance(600);
    client = await connectInMemory(sim.model);
  });
  after(async () => client.close());

  void test('exposes every capability tool but the optional baselines', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), SIMULATOR_TOOLS);
    for (const t of tools) assert.ok(t.outputSchema, `${t.name} declares an output schema`);
  });

  void test("payment's error rate is far above its baseline; an unrelated service's is not", async () => {
    const baseline = await meanMetric(client, 'payment', 'error_rate', T0 - 3 * 3600, T0 - 60);
    const during = await meanMetric(client, 'payment', 'error_rate', T0 + 120, T0 + 600);
    assert.ok(baseline < 0.01, `baseline ${baseline}`);
    assert.ok(during > 20 * baseline && during > 0.2, `during ${during} vs baseline ${baseline}`);
    const catalogBefore = await meanMetric(client, 'catalog', 'error_rate', T0 - 3600, T0 - 60);
    const catalogDuring = await meanMetric(client, 'catalog', 'error_rate', T0 + 120, T0 + 600);
    assert.ok(catalogDuring < 2 * catalogBefore + 0.002, `catalog ${catalogBefore} -> ${catalogDuring}`);
  });

  void test('checkout degrades too, later and less than payment, and frontend later still', async () => {
    const payment = await errorOnset(client, 'payment', 0.03);
    const checkout = await errorOnset(client, 'checkout', 0.03);
    const frontend = await errorOnset(client, 'frontend', 0.03);
    assert.ok(payment >= 0 && payment < checkout && checkout < frontend && frontend < 120, `onsets ${payment} ${checkout} ${frontend}`);
    const paymentErr = await meanMetric(client, 'payment', 'error_rate', T0 + 120, T0 + 600);
    const checkoutErr = await meanMetric(client, 'checkout', 'error_rate', T0 + 120, T0 + 600);
    assert.ok(checkoutErr > 0.05 && checkoutErr < paymentErr, `checkout ${checkoutErr}, payment ${paymentErr}`);
  });

  void test("logs in the fault window hold payment's errors and checkout's upstream failures", async () => {
    const r = await call(client, 'logs_search', { start: T0 + 60, end: T0 + 300, level: 'error' });
    const { logs } = LogsSearchOutput.parse(r.structuredContent);
    const payment = logs.filter((l) => l.service === 'payment');
    assert.ok(payment.length >= 10, `${payment.length} payment errors`);
    assert.ok(payment.some((l) => /payment@2\.15\.0/.test(l.message) && /500 Internal Server Error|unhandled exception/.test(l.message)));
    assert.ok(logs.some((l) => l.service === 'checkout' && /call to payment failed: 5\d\d/.test(l.message)));
    assert.ok(logs.every((l) => l.level === 'error'));
    const before = await call(client, 'logs_search', { start: T0 - 600, end: T0 - 1, level: 'warn' });
    assert.equal(LogsSearchOutput.parse(before.structuredContent).logs.length, 0, 'no warnings before the fault');
  });

  void test('logs honour limit and report truncation', async () => {
    const r = await call(client, 'logs_search', { start: T0 - 3600, end: T0, limit: 50 });
    const out = LogsSearchOutput.parse(r.structuredContent);
    assert.equal(out.logs.length, 50);
    assert.equal(out.truncated, true);
  });

  void test('traces show failing payment spans under failing callers', async () => {
    const r = await call(client, 'traces_search', { start: T0 + 60, end: T0 + 600, service: 'payment' });
    const { spans } = TracesSearchOutput.parse(r.structuredContent);
    const failing = spans.filter((s) => s.service === 'payment' && s.status === 'error');
    assert.ok(failing.length >= 3, `${failing.length} failing payment spans`);
    const byId = new Map(spans.map((s) => [s.span_id, s]));
    assert.ok(failing.some((s) => s.parent_span_id !== null && byId.get(s.parent_span_id)?.service === 'checkout' && byId.get(s.parent_span_id)?.status === 'error'));
    const quiet = await call(client, 'traces_search', { start: T0 - 600, end: T0 - 1, service: 'payment' });
    const old = TracesSearchOutput.parse(quiet.structuredContent).spans.filter((s) => s.service === 'payment');
    assert.ok(old.filter((s) => s.status === 'error').length <= 1, 'payment spans were healthy before');
  });

  void test('topology lists the deploy at fault time beside older benign changes', async () => {
    const r = await call(client, 'topology_get', {});
    const topo = TopologyGetOutput.parse(r.structuredContent);
    assert.ok(topo.edges.some((e) => e.source === 'checkout' && e.target === 'payment'));
    assert.equal(topo.services.find((s) => s.name === 'payment')?.instances.length, 3);
    const deploy = topo.changes.find((c) => c.service === 'payment' && c.kind === 'deploy');
    assert.deepEqual(deploy && { at: deploy.at, release: deploy.release }, { at: T0, release: 'payment@2.15.0' });
    assert.ok(topo.changes.filter((c) => c.at < T0).length >= 3, 'older benign changes are listed');
    const recent = TopologyGetOutput.parse((await call(client, 'topology_get', { since: T0 - 1 })).structuredContent);
    assert.deepEqual(recent.changes.map((c) => c.service), ['payment']);
  });

  void test('an invalid argument is a tool error, and the server keeps serving', async () => {
    const bad = await call(client, 'metrics_query_range', { start: 'yesterday', end: T0 });
    assert.equal(bad.isError, true);
    assert.match(errorText(bad), /start/);
    const unknown = await call(client, 'service_state_get', { service: 'paymnet' });
    assert.equal(unknown.isError, true);
    assert.match(errorText(unknown), /unknown_service: unknown service "paymnet"/);
    const good = await call(client, 'service_state_get', { service: 'payment' });
    assert.equal(ServiceState.parse(good.structuredContent).release, 'payment@2.15.0');
  });
});

void describe('remediation through MCP', () => {
  void test('rolling back to the previous release ends the errors; a restart does not', async () => {
    const sim = clockedModel();
    sim.model.inject({ kind: 'bad-release', service: 'payment' });
    sim.advance(300);
    const client = await connectInMemory(sim.model);
    try {
      const restart = await call(client, 'service_restart', { service: 'payment', idempotencyKey: 'inc-1:step-1' });
      assert.ok(!restart.isError, errorText(restart));
      sim.advance(300);
      const afterRestart = await meanMetric(client, 'payment', 'error_rate', T0 + 420, T0 + 600);
      assert.ok(afterRestart > 0.2, `restart did not fix it: ${afterRestart}`);

      const state = ServiceState.parse((await call(client, 'service_state_get', { service: 'payment' })).structuredContent);
      const rollback = await call(client, 'release_rollback', { service: 'payment', toRelease: state.previousRelease, idempotencyKey: 'inc-1:step-2' });
      const out = ActionOutput.parse(rollback.structuredContent);
      assert.equal(out.after.release, 'payment@2.14.1');
      assert.equal(out.before.release, 'payment@2.15.0');
      const rolledBackAt = sim.now();
      sim.advance(600);
      const baseline = await meanMetric(client, 'payment', 'error_rate', T0 - 3600, T0);
      const afterFix = await meanMetric(client, 'payment', 'error_rate', rolledBackAt + 90, sim.now());
      assert.ok(afterFix < 3 * baseline + 0.002, `after rollback ${afterFix}, baseline ${baseline}`);
      const checkoutAfter = await meanMetric(client, 'checkout', 'error_rate', rolledBackAt + 90, sim.now());
      assert.ok(checkoutAfter < 0.01, `checkout after rollback ${checkoutAfter}`);
      const before = await meanMetric(client, 'payment', 'error_rate', T0 + 60, rolledBackAt);
      assert.ok(before > 0.2, 'history before the fix still shows the fault');
      const changes = TopologyGetOutput.parse((await call(client, 'topology_get', { since: T0 + 1 })).structuredContent).changes;
      assert.deepEqual(changes.map((c) => c.kind), ['restart', 'deploy']);
    } finally {
      await client.close();
    }
  });

  void test('the same idempotency key acts once', async () => {
    const sim = clockedModel();
    const client = await connectInMemory(sim.model);
    try {
      const first = ActionOutput.parse((await call(client, 'service_restart', { service: 'cart', idempotencyKey: 'inc-7:restart-cart' })).structuredContent);
      sim.advance(5);
      const second = ActionOutput.parse((await call(client, 'service_restart', { service: 'cart', idempotencyKey: 'inc-7:restart-cart' })).structuredContent);
      assert.equal(first.replayed, false);
      assert.equal(second.replayed, true);
      assert.deepEqual(second.after, first.after);
      assert.equal(sim.model.getState('cart').restarts, 1);
      assert.equal(sim.model.callCounts()['inc-7:restart-cart'], 1);
      assert.equal(sim.model.requestCounts()['inc-7:restart-cart'], 2);
      const reused = await call(client, 'service_restart', { service: 'payment', idempotencyKey: 'inc-7:restart-cart' });
      assert.equal(reused.isError, true);
      assert.match(errorText(reused), /idempotency_conflict/);
    } finally {
      await client.close();
    }
  });

  void test('failStep 1 makes the first action fail, changes nothing, and the next step proceeds', async () => {
    const sim = clockedModel();
    sim.model.inject({ kind: 'cpu-saturation', service: 'catalog', failStep: 1 });
    sim.advance(120);
    const client = await connectInMemory(sim.model);
    try {
      const before = sim.model.getState('catalog');
      const failed = await call(client, 'service_scale', { service: 'catalog', replicas: 5, idempotencyKey: 'inc-9:scale-up' });
      assert.equal(failed.isError, true);
      assert.match(errorText(failed), /injected_failure/);
      assert.deepEqual(sim.model.getState('catalog'), before);
      const retried = await call(client, 'service_scale', { service: 'catalog', replicas: 5, idempotencyKey: 'inc-9:scale-up' });
      assert.equal(retried.isError, true, 'a retry of the failed step fails again');
      assert.equal(sim.model.callCounts()['inc-9:scale-up'], undefined);
      const next = await call(client, 'service_scale', { service: 'catalog', replicas: 5, idempotencyKey: 'inc-9:scale-up-2' });
      assert.equal(ActionOutput.parse(next.structuredContent).after.replicas, 5);
    } finally {
      await client.close();
    }
  });

  void test('actions on unknown services or releases are tool errors that change nothing', async () => {
    const sim = clockedModel();
    const client = await connectInMemory(sim.model);
    try {
      const r1 = await call(client, 'service_restart', { service: 'nope', idempotencyKey: 'inc-1:nope' });
      assert.match(errorText(r1), /unknown service "nope"/);
      const r2 = await call(client, 'release_rollback', { service: 'payment', toRelease: 'payment@0.0.1', idempotencyKey: 'inc-1:rb' });
      assert.match(errorText(r2), /invalid_action: release "payment@0.0.1" of payment is unknown/);
      assert.deepEqual(sim.model.callCounts(), {});
    } finally {
      await client.close();
    }
  });
});

void describe('determinism', () => {
  const snapshot = (m: SimulatorModel) => ({
    metrics: m.queryMetrics({ start: T0 - 900, end: T0 + 300, step: 10 }),
    logs: m.searchLogs({ start: T0 - 300, end: T0 + 300 }),
    traces: m.searchTraces({ start: T0 - 120, end: T0 + 300 }),
    topology: m.topology(),
  });
  const run = (seed: number) => {
    const sim = clockedModel(seed);
    sim.model.inject({ kind: 'db-pool-exhaustion', service: 'inventory' });
    sim.advance(300);
    return snapshot(sim.model);
  };

  void test('the same seed gives identical telemetry; another seed does not', () => {
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7).metrics, run(8).metrics);
  });

  void test('a window gives the same data whenever it is asked for', () => {
    const sim = clockedModel(5);
    sim.model.inject({ kind: 'network-latency', service: 'shipping' });
    sim.advance(400);
    const early = sim.model.queryMetrics({ start: T0 - 600, end: T0 + 400, step: 20, service: 'shipping' });
    sim.advance(3600);
    const late = sim.model.queryMetrics({ start: T0 - 600, end: T0 + 400, step: 20, service: 'shipping' });
    assert.deepEqual(late, early);
  });

  void test('nothing is returned from the future', () => {
    const sim = clockedModel();
    const { series } = sim.model.queryMetrics({ start: T0 - 60, end: T0 + 3600, service: 'cart', metric: 'cpu_usage' });
    assert.ok(series.every((s) => s.points.every(([t]) => t <= T0)));
  });
});

void describe('over Streamable HTTP with the control API', () => {
  const sim = clockedModel();
  let http: SimulatorHttp;
  before(async () => {
    http = await startSimulatorHttp({ model: sim.model, port: 0 });
  });
  after(async () => http.close());

  const json = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${http.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.status, body: await res.json() };
  };

  void test('listens on a real port and answers health checks', async () => {
    assert.notEqual(http.port, 0);
    assert.equal(http.mcpUrl, `${http.url}/mcp`);
    const health = await json('GET', '/healthz');
    assert.deepEqual(health, { status: 200, body: { ok: true, now: T0 } });
  });

  void test('a fault injected through the control API shows up through MCP', async () => {
    const injected = await json('POST', '/control/faults', { kind: 'memory-leak', service: 'cart' });
    assert.equal(injected.status, 201);
    assert.equal(injected.body.fault.service, 'cart');
    sim.advance(1200);

    const client = new Client({ name: 'simulator-http-test', version: '0.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(http.mcpUrl)));
    try {
      const { tools } = await client.listTools();
      assert.equal(tools.length, SIMULATOR_TOOLS.length);
      const memory = await meanMetric(client, 'cart', 'memory_usage', T0 + 900, T0 + 1200);
      assert.ok(memory > 0.85, `cart memory ${memory}`);
      const restart = await call(client, 'service_restart', { service: 'cart', idempotencyKey: 'inc-http:restart-cart' });
      assert.equal(ActionOutput.parse(restart.structuredContent).after.restarts, 1);
      const bad = await call(client, 'service_scale', { service: 'cart', replicas: -1, idempotencyKey: 'inc-http:x' });
      assert.equal(bad.isError, true);
    } finally {
      await client.close();
    }

    const faults = await json('GET', '/control/faults');
    assert.equal(faults.body.faults[0].status, 'resolved');
    assert.equal(faults.body.faults[0].resolvedBy, 'inc-http:restart-cart');
    const counts = await json('GET', '/control/action-counts');
    assert.deepEqual(counts.body.callCounts, { 'inc-http:restart-cart': 1 });
    const state = await json('GET', '/control/state/cart');
    assert.equal(state.body.restarts, 1);
    const services = await json('GET', '/control/services');
    assert.ok(services.body.services.some((s: { name: string; kind: string }) => s.name === 'payments-db' && s.kind === 'database'));
    const cleared = await json('DELETE', '/control/faults');
    assert.equal(cleared.status, 200);
  });

  void test('bad control input is a 400 that names the field', async () => {
    const badKind = await json('POST', '/control/faults', { kind: 'meteor-strike', service: 'payment' });
    assert.equal(badKind.status, 400);
    assert.deepEqual(badKind.body.fields, ['kind']);
    const noService = await json('POST', '/control/faults', { kind: 'cpu-saturation' });
    assert.deepEqual([noService.status, noService.body.fields], [400, ['service']]);
    const unknown = await json('POST', '/control/faults', { kind: 'cpu-saturation', service: 'paymnet' });
    assert.deepEqual([unknown.status, unknown.body.fields], [400, ['service']]);
    const noPool = await json('POST', '/control/faults', { kind: 'db-pool-exhaustion', service: 'frontend' });
    assert.deepEqual([noPool.status, noPool.body.fields], [400, ['service']]);
    const notJson = await json('POST', '/control/faults', '{nope');
    assert.equal(notJson.status, 400);
    const missing = await json('GET', '/control/state/nope');
    assert.equal(missing.status, 404);
    const getMcp = await fetch(http.mcpUrl);
    assert.equal(getMcp.status, 405);
  });
});

void describe('over stdio', () => {
  void test('a child process serves the tools', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', 'tsx', 'src/simulator/stdio-main.ts', '--seed', '3', '--inject', 'bad-release:payment'],
      cwd: REPO,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'simulator-stdio-test', version: '0.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), SIMULATOR_TOOLS);
      const topo = TopologyGetOutput.parse((await call(client, 'topology_get', {})).structuredContent);
      assert.equal(topo.services.length, 12);
      assert.ok(topo.changes.some((c) => c.service === 'payment' && c.release === 'payment@2.15.0'));
    } finally {
      await client.close();
    }
  });
});
