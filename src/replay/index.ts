/**
 * The dataset replay server: one recorded incident case bundle (FORMAT.md of the
 * shared datasets) served through the same MCP tools as the built-in simulator, so
 * a recorded incident is diagnosed as if live. Never reads truth.json.
 */
export { BASELINE_TOOLS, MetricsBaselineInput, MetricsBaselineOutput, TracesBaselineInput, TracesBaselineOutput } from './baseline-tools.js';
export { CaseBundle, CaseAlert, CaseMeta, type CaseFiles, type TelemetryKind } from './case-bundle.js';
export * from './errors.js';
export { parseMetricsCsv, parseLogsJsonl, parseSpansJsonl, topologyFromJson, topologyFromSpans, splitCsvLine } from './parse-telemetry.js';
export { ReplayModel, BaselinePlacement, metricResolution, type BaselineInfo, type ReplayModelOptions } from './replay-model.js';
export { createReplayMcpServer, replayToolError, REPLAY_SERVER_NAME, REPLAY_SERVER_VERSION, type ReplayMcpServerOptions } from './mcp-server.js';
export { startReplayHttp, startReplayServer, MAX_REQUEST_BYTES, type ReplayHttp, type ReplayHttpOptions, type StartReplayServerOptions } from './http-server.js';
export { serveReplayStdio } from './stdio.js';
