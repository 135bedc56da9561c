/**
 * The tool registry against real components: Debian's Prometheus, backfilled with two
 * hours of history by promtool, reached through the third-party MCP server
 * `prometheus-mcp` over stdio, configured only by config/tools.prometheus.example.yaml.
 * vigil's metric analysis runs as the analyzeMetrics activity on top.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { createActivities, type AnalysisRequest } from '../activities/index.js';
import { DEFAULT_POLICY_FILE, DEFAULT_RUNBOOKS_DIR, loadConfig } from '../src/config.js';
import { EvidenceStore } from '../src/evidence/evidence-store.js';
import { McpClientPool } from '../src/mcp/mcp-client-pool.js';
import { loadToolRegistry, parseToolRegistry, ToolRegistryError } from '../src/mcp/registry-load.js';
import { planToolCalls } from '../src/mcp/registry-plan.js';
import { renderTemplate, TemplateError } from '../src/mcp/registry-templates.js';
import { adaptResult } from '../src/mcp/result-adapters.js';
import { ToolErrorType, ToolGate } from '../src/mcp/tool-gate.js';
import { CapabilityBinding, type ToolRegistryConfig } from '../src/schemas/config.js';
import { generateHistory } from './support/prometheus-history.js';
import { backfillOpenMetrics, startPrometheus, type Daemon } from './support/prometheus.js';
import { tempDir } from './support/temporal.js';

const EXAMPLE = fileURLToPath(new URL('../config/tools.prometheus.example.yaml', import.meta.url));
const STEP = 15;

void describe('the tool registry format', () => {
  void test('templates render times, durations and escaped selectors; a lone unset expression is left out', () => {
    const vars = { start: 1714564800, step: 15, service: 'pay.ment"x' };
    assert.equal(renderTemplate('{{start|rfc3339}}', vars), '2024-05-01T12:00:00.000Z');
    assert.equal(renderTemplate('{{start|unix}}', vars), '1714564800');
    assert.equal(renderTemplate('{{step|duration}}', vars), '15s');
    assert.equal(renderTemplate('{{step|raw}}', vars), 15);
    assert.equal(renderTemplate('job=~"{{service|regex|promql_string|default:.+}}"', vars), 'job=~"pay\\\\.ment\\"x"');
    assert.equal(renderTemplate('job=~"{{service|regex|default:.+}}"', {}), 'job=~".+"');
    assert.equal(renderTemplate('{{metric}}', {}), undefined);
    assert.throws(() => renderTemplate('x{{metric}}', {}), TemplateError);
    assert.throws(() => renderTemplate('{{start|iso}}', vars), /unknown filter "iso"/);
  });

  void test('a fan-out entry answers calls for its metric and calls that name none', () => {
    const binding = CapabilityBinding.parse({
      server: 'p',
      tool: 't',
      fanOut: [
        { metric: 'a', query: 'qa{job="{{service|default:any}}"}' },
        { metric: 'b', query: 'qb' },
      ],
      arguments: { query: '{{query}}', step: '{{step|duration}}', limit: 5 },
    });
    const all = planToolCalls(binding, { start: 0, end: 60, step: 15 });
    assert.deepEqual(all.map((c) => c.arguments), [
      { query: 'qa{job="any"}', step: '15s', limit: 5 },
      { query: 'qb', step: '15s', limit: 5 },
    ]);
    const one = planToolCalls(binding, { start: 0, end: 60, step: 15, service: 'pay', metric: 'a' });
    assert.deepEqual(one.map((c) => c.arguments.query), ['qa{job="pay"}']);
    assert.equal(planToolCalls(binding, { start: 0, end: 60, step: 15, metric: 'zzz' }).length, 0);
  });

  void test('prometheus-matrix names series by label, or by the fan-out entry, and drops NaN samples', () => {
    const adapter = { format: 'prometheus-matrix' as const, serviceLabel: 'job', instanceLabel: 'instance', metricLabel: '__name__' };
    const data = {
      resultType: 'matrix',
      result: [{ metric: { job: 'api', instance: 'api-0' }, values: [[10, '0.5'], [25, 'NaN'], [40, '+Inf'], [55, '1e-3']] }],
    };
    assert.deepEqual(adaptResult(adapter, data, { vars: { metric: 'error_rate' } }), {
      series: [{ service: 'api', instance: 'api-0', metric: 'error_rate', points: [[10, 0.5], [55, 0.001]] }],
    });
    assert.throws(() => adaptResult(adapter, { resultType: 'scalar', result: [1, '1'] }, { vars: {} }), /prometheus-matrix/);
  });

  void test('a registry names only declared servers, and a bad template is refused with its place', () => {
    const doc = parseYaml(readFileSync(EXAMPLE, 'utf8')) as { capabilities: Record<string, Record<string, unknown>> };
    const wrongServer = structuredClone(doc);
    (wrongServer.capabilities['metrics.query_range'] ?? {})['server'] = 'thanos';
    assert.throws(() => parseToolRegistry(wrongServer), (err: unknown) => err instanceof ToolRegistryError && /no server named "thanos"/.test(err.message));
    const badFilter = structuredClone(doc);
    (badFilter.capabilities['metrics.query_range'] ?? {})['arguments'] = { start: '{{start|epoch}}' };
    assert.throws(() => parseToolRegistry(badFilter), /unknown filter "epoch"/);
  });

  void test('the prometheus-mcp example loads on its own and as the tools: section of vigil.yaml', () => {
    const registry = loadToolRegistry(EXAMPLE);
    assert.deepEqual(registry.servers.map((s) => s.name), ['prometheus']);
    assert.equal(registry.capabilities['metrics.query_range']?.result?.format, 'prometheus-matrix');
    const vigilYaml = join(tempDir('vigil-yaml'), 'vigil.yaml');
    writeFileSync(vigilYaml, `dataDir: /tmp/x\ntools:\n${readFileSync(EXAMPLE, 'utf8').replace(/^/gm, '  ')}`);
    const config = loadConfig({ file: vigilYaml, env: {} });
    assert.deepEqual(config.tools, registry);
    assert.deepEqual(loadToolRegistry(vigilYaml), registry);
  });
});

void describe('metric analysis through prometheus-mcp on a real Prometheus', () => {
  const now = Math.floor(Date.now() / 1000 / STEP) * STEP;
  const faultAt = now - 20 * 60;
  const incidentStart = faultAt - 5 * 60;
  let prometheus: Daemon | undefined;
  let pool: McpClientPool | undefined;
  let evidence: EvidenceStore;
  let registry: ToolRegistryConfig;

  const request = (incidentId: string): AnalysisRequest => ({
    incidentId,
    alertedServices: ['frontend'],
    incidentStart,
    baselineStart: incidentStart - 3600,
    end: now,
    stepSeconds: STEP,
  });
  const activitiesFor = (reg: ToolRegistryConfig) => {
    if (!pool) throw new Error('not started');
    return createActivities({
      gate: new ToolGate(reg, pool, evidence),
      evidence,
      policyFile: DEFAULT_POLICY_FILE,
      runbooksDir: DEFAULT_RUNBOOKS_DIR,
      reportsDir: join(tempDir('reports'), 'reports'),
      settings: {},
      readKillSwitch: () => Promise.resolve(null),
    });
  };

  before(async () => {
    const storage = join(tempDir('tsdb'), 'data');
    backfillOpenMetrics(
      generateHistory({
        services: ['frontend', 'checkout', 'payment', 'inventory'],
        start: now - 2 * 3600,
        end: now - STEP,
        fault: { service: 'payment', at: faultAt, errorRatio: 0.3, latencyFactor: 10 },
        seed: 42,
      }),
      storage,
    );
    prometheus = await startPrometheus({ config: 'global:\n  scrape_interval: 15s\n', storageDir: storage });
    registry = loadToolRegistry(EXAMPLE);
    pool = new McpClientPool(registry.servers, { env: { ...process.env, PROMETHEUS_URL: prometheus.url } });
    evidence = new EvidenceStore(join(tempDir('evidence'), 'evidence'));
  });

  after(async () => {
    await pool?.close();
    await prometheus?.stop();
  });

  void test('prometheus-mcp exposes the range query the example binds', async () => {
    const tools = await pool?.listTools('prometheus');
    assert.ok(tools?.includes('prometheus_query_range'), `tools: ${tools?.join(', ')}`);
  });

  void test('the service whose error ratio and latency jump ranks first, with the onset of the jump', async () => {
    const ev = await activitiesFor(registry).analyzeMetrics(request('prom-analysis'));
    assert.equal(ev.status, 'ok');
    assert.equal(ev.stats['series'], 4 * 2 * 5, 'every indicator of every instance of every service');
    const top = ev.findings[0];
    assert.ok(top, 'there is a finding');
    assert.equal(top.service, 'payment', `top finding: ${top.summary}`);
    assert.ok(top.indicator === 'error_rate' || top.indicator === 'latency_p99_seconds', `top indicator ${top.indicator}`);
    assert.ok(top.onset !== null && Math.abs(top.onset - faultAt) <= 2 * STEP, `onset ${top.onset} vs fault at ${faultAt}`);
    const firstOther = ev.findings.findIndex((f) => f.service !== 'payment');
    const lastPayment = ev.findings.map((f) => f.service).lastIndexOf('payment');
    assert.ok(firstOther === -1 || firstOther > lastPayment, `every payment finding outranks the others: ${ev.findings.map((f) => f.id).join(', ')}`);
    assert.ok(ev.ref, 'the raw series are kept in the evidence store');

    const calls = await evidence.toolCalls('prom-analysis');
    assert.equal(calls.length, 1);
    const rec = calls[0] ?? {};
    assert.equal(rec['tool'], 'prometheus_query_range');
    assert.equal((rec['toolArguments'] as unknown[]).length, 5, 'one range query per indicator');
  });

  void test('a query for one service and one metric (as verification asks) runs only that query', async () => {
    const gate = new ToolGate(registry, pool as McpClientPool, evidence);
    const ctx = { incidentId: 'prom-verify', stage: 'verification' as const };
    const { series } = await gate.call('metrics.query_range', { start: faultAt, end: now, step: STEP, service: 'payment', metric: 'error_rate' }, ctx);
    assert.deepEqual(series.map((s) => `${s.service}/${s.instance}/${s.metric}`).sort(), ['payment/payment-0/error_rate', 'payment/payment-1/error_rate']);
    const settled = series.map((s) => s.points.filter(([t]) => t >= faultAt + 60));
    assert.ok(settled.every((points) => points.length > 0 && points.every(([, v]) => v > 0.2 && v < 0.4)), 'the 30% error ratio once rate[1m] has caught up');
    const none = await gate.call('metrics.query_range', { start: faultAt, end: now, step: STEP, metric: 'queue_depth' }, ctx);
    assert.deepEqual(none, { series: [] });
  });

  void test('a tool result that fails its schema is a ToolSchemaError naming the tool, not a crash', async () => {
    const binding = registry.capabilities['metrics.query_range'];
    assert.ok(binding);
    // Real answers of other shapes: an instant scalar, series with no service label, and
    // Prometheus data taken as it is (no adapter).
    const bind = (b: Partial<CapabilityBinding>): ToolRegistryConfig => ({ ...registry, capabilities: { 'metrics.query_range': { ...binding, ...b } } });
    const scalar = bind({ tool: 'prometheus_query', fanOut: undefined, arguments: { query: 'scalar(vector(1))' } });
    const unlabelled = bind({ fanOut: [{ metric: 'x', query: 'sum(rate(http_requests_total[1m]))' }] });
    const unadapted = bind({ result: undefined });
    for (const [name, reg, pattern] of [
      ['scalar', scalar, /result of prometheus_query failed its schema: not Prometheus query data \(prometheus-matrix\)/],
      ['unlabelled', unlabelled, /result of prometheus_query_range failed its schema: [^]*series\[0\]\.service/],
      ['unadapted', unadapted, /result of prometheus_query_range failed its schema: [^]*at series/],
    ] as const) {
      await assert.rejects(activitiesFor(reg).analyzeMetrics(request(`prom-bad-${name}`)), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, `${name}: ${String(err)}`);
        assert.equal(err.type, ToolErrorType.SchemaError);
        assert.equal(err.nonRetryable, true);
        assert.match(err.message, pattern);
        return true;
      });
      const [rec] = await evidence.toolCalls(`prom-bad-${name}`);
      assert.equal((rec?.['error'] as { type?: string } | undefined)?.type, ToolErrorType.SchemaError, 'the failed call is on record');
    }
  });

  void test('PromQL that Prometheus refuses is a ToolError naming the tool and the fan-out entry', async () => {
    const binding = registry.capabilities['metrics.query_range'];
    assert.ok(binding);
    const broken: ToolRegistryConfig = {
      ...registry,
      capabilities: { 'metrics.query_range': { ...binding, fanOut: [...(binding.fanOut ?? []), { metric: 'broken', query: 'sum by (job (' }] } },
    };
    await assert.rejects(activitiesFor(broken).analyzeMetrics(request('prom-broken')), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, ToolErrorType.ToolError);
      assert.match(err.message, /prometheus_query_range \(fanOut\[5\]\)/);
      return true;
    });
  });
});
