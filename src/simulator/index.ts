/**
 * The built-in simulator: a deterministic microservice system with injectable faults,
 * served as an MCP server (stdio or Streamable HTTP plus a JSON control API).
 */
export { SimulatorModel, parseInput, MAX_EVENT_WINDOW_SECONDS, type SimulatorModelOptions } from './model.js';
export { FAULT_KINDS, FaultKind, FaultKindInfo, FaultInjection, Fault, Episode } from './faults.js';
export { SHOP_SYSTEM, SystemDef, ServiceDef, ServiceKind } from './system.js';
export * from './errors.js';
export { createSimulatorMcpServer, toolError, SIMULATOR_SERVER_NAME, SIMULATOR_SERVER_VERSION, type SimulatorMcpServerOptions } from './mcp-server.js';
export { startSimulatorHttp, startSimulator, MAX_BODY_BYTES, type SimulatorHttp, type SimulatorHttpOptions, type StartSimulatorOptions } from './http-server.js';
export { serveSimulatorStdio } from './stdio.js';
