/**
 * Ingest authentication: bearer tokens (`Authorization: Bearer <token>`, what
 * Alertmanager's http_config.authorization sends) and HMAC-SHA256 signatures of
 * the raw body (`X-Vigil-Signature: sha256=<hex>`, for senders that sign).
 *
 * When both are configured, EITHER valid credential is enough. Several tokens and
 * several secrets may be configured at once, for rotation. Every comparison is
 * constant-time. With nothing configured, ingest is open (bind it to a private address).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';

export const SIGNATURE_HEADER = 'x-vigil-signature';

export const IngestAuthConfig = z.object({
  bearerTokens: z.array(z.string().min(1)).default([]).describe('accepted bearer tokens (use 32+ random characters)'),
  hmacSecrets: z.array(z.string().min(1)).default([]).describe('accepted HMAC-SHA256 secrets for X-Vigil-Signature'),
});
export type IngestAuthConfig = z.infer<typeof IngestAuthConfig>;
export type IngestAuthConfigInput = z.input<typeof IngestAuthConfig>;

/** Outcome of the header-only check, before the body is read. */
export type HeaderCheck =
  | { result: 'allowed'; method: 'none' | 'bearer' }
  /** A signature header is present: read the body, then call verifyBody. */
  | { result: 'needs-body' }
  | { result: 'denied' };

export interface Authenticator {
  /** True when any credential is configured. */
  readonly enabled: boolean;
  checkHeaders(headers: IncomingHttpHeaders): HeaderCheck;
  /** Verifies X-Vigil-Signature against the raw body. */
  verifyBody(headers: IncomingHttpHeaders, rawBody: Buffer): boolean;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const value = headers.authorization;
  if (!value) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match?.[1];
}

function signatureDigest(headers: IncomingHttpHeaders): Buffer | undefined {
  const raw = headers[SIGNATURE_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return undefined;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(value.trim());
  return match?.[1] ? Buffer.from(match[1], 'hex') : undefined;
}

/** `sha256=<hex>` for a body: what a sender puts in X-Vigil-Signature. */
export function signBody(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export function createAuthenticator(input: IngestAuthConfigInput = {}): Authenticator {
  const config = IngestAuthConfig.parse(input);
  // Compare hashes of tokens, so comparisons are fixed-length and leak no length.
  const tokenDigests = config.bearerTokens.map(sha256);
  const secrets = [...config.hmacSecrets];
  const enabled = tokenDigests.length > 0 || secrets.length > 0;

  return {
    enabled,
    checkHeaders(headers) {
      if (!enabled) return { result: 'allowed', method: 'none' };
      const token = bearerToken(headers);
      if (token !== undefined && tokenDigests.length > 0) {
        const given = sha256(token);
        let ok = false;
        for (const d of tokenDigests) ok = timingSafeEqual(given, d) || ok;
        if (ok) return { result: 'allowed', method: 'bearer' };
      }
      if (secrets.length > 0 && headers[SIGNATURE_HEADER] !== undefined) return { result: 'needs-body' };
      return { result: 'denied' };
    },
    verifyBody(headers, rawBody) {
      const given = signatureDigest(headers);
      if (!given) return false;
      let ok = false;
      for (const secret of secrets) {
        ok = timingSafeEqual(given, createHmac('sha256', secret).update(rawBody).digest()) || ok;
      }
      return ok;
    },
  };
}
