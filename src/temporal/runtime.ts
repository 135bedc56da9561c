/**
 * Installs the Temporal SDK runtime once per process with a log level, so the worker's
 * and workflows' own logs do not drown a command's output, and optionally with the SDK
 * core's Prometheus exporter (the Temporal worker metrics: task slots, polls, latencies)
 * on its own address. Call before any connection.
 */
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

let installed = false;
let metricsAddress: string | undefined;

export interface TemporalRuntimeOptions {
  /**
   * host:port where the SDK serves its own worker metrics (Prometheus text at /metrics),
   * e.g. `0.0.0.0:9465`. @default $VIGIL_TEMPORAL_METRICS_ADDRESS, else none
   */
  metricsBindAddress?: string;
}

/** Returns false when the runtime was already installed (the options then have no effect). */
export function installTemporalRuntime(
  level: LogLevel = (process.env['VIGIL_TEMPORAL_LOG_LEVEL'] as LogLevel | undefined) ?? 'WARN',
  opts: TemporalRuntimeOptions = {},
): boolean {
  if (installed) return false;
  installed = true;
  const bindAddress = opts.metricsBindAddress ?? process.env['VIGIL_TEMPORAL_METRICS_ADDRESS'];
  metricsAddress = bindAddress || undefined;
  Runtime.install({
    logger: new DefaultLogger(level),
    ...(bindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress } } } } : {}),
  });
  return true;
}

/** Where the SDK serves its worker metrics (host:port), if the runtime was installed with an address. */
export function temporalMetricsAddress(): string | undefined {
  return metricsAddress;
}
