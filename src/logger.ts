/**
 * The one root logger (pino). Child loggers carry context (incidentId, component);
 * secrets are redacted; untrusted text goes under the fixed key `data`.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

/** Keys that hold secrets, at the top level and one level down (pino paths have no deep wildcard). */
const SECRET_KEYS = ['authorization', 'token', 'apiKey', 'password', 'secret', 'hmacSecret', 'hmacSecrets', 'bearerTokens', 'cookie'];

export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.headers.cookie',
  'req.headers.authorization',
  'otlpHeaders',
  '*.otlpHeaders',
];

export function createLogger(opts: { level?: string; name?: string; destination?: number; stream?: DestinationStream } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'vigil',
      level: opts.level ?? process.env['VIGIL_LOG_LEVEL'] ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    opts.stream ?? pino.destination({ fd: opts.destination ?? 2, sync: false }),
  );
}

export type { Logger };
