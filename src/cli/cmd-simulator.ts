/** `vigil simulator [--stdio | --port N]`: the built-in simulator alone, as an MCP server. */
import { serveSimulatorStdio, SimulatorModel, startSimulator } from '../simulator/index.js';
import { int, str } from './cli-common.js';

export async function runSimulator(v: Record<string, string | boolean | undefined>): Promise<number> {
  const seed = int(v['seed'], 'seed') ?? 42;
  if (v['stdio'] === true) {
    await serveSimulatorStdio(new SimulatorModel({ seed }));
    await new Promise<void>((resolve) => process.stdin.once('close', resolve));
    return 0;
  }
  const sim = await startSimulator({ seed, host: str(v['host']) ?? '127.0.0.1', port: int(v['port'], 'port') ?? 8788 });
  process.stdout.write(`simulator MCP (Streamable HTTP): ${sim.mcpUrl}\nsimulator control API: ${sim.controlUrl}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sim.close();
  return 0;
}
