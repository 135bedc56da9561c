/**
 * The one root logger (pino). Child loggers carry context (incidentId, component);
 * secrets are redacted; untrusted text goes under the fixed key `data`.
 */
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.secret',
  'hmacSecret',
  'hmacSecrets',
];

export function createLogger(opts: { level?: string; name?: string; destination?: number } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'vigil',
      level: opts.level ?? process.env['VIGIL_LOG_LEVEL'] ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    pino.destination({ fd: opts.destination ?? 2, sync: false }),
  );
}

export type { Logger };
