/**
 * Installs the Temporal SDK runtime once per process with a log level, so the worker's
 * and workflows' own logs do not drown a command's output. Call before any connection.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

let installed = false;

export function installTemporalRuntime(level: LogLevel = (process.env['VIGIL_TEMPORAL_LOG_LEVEL'] as LogLevel | undefined) ?? 'WARN'): void {
  if (installed) return;
  installed = true;
  Runtime.install({ logger: new DefaultLogger(level) });
}
