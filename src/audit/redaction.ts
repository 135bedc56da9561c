/**
 * Redaction of evidence before it is written (and so before it is hashed): secrets never
 * reach the audit log, and configured personal data is replaced by a digest so two
 * records can still be compared for equality without revealing the value.
 *
 * - Secrets: a member whose key contains token, secret, password/passwd, apikey,
 *   authorization, credential, privatekey or cookie (case-insensitive, ignoring `-`, `_`
 *   and `.`) is replaced by "[redacted]" when its value is a string, object or array
 *   (numbers and booleans such as `maxTokens: 512` are kept). Inside every string,
 *   bearer/basic credentials, JWTs, `password=...`-style pairs and URL user:password
 *   are replaced too. Secrets get no digest: a digest of a guessable secret is a leak.
 * - PII (`piiFields`): a bare name ("email") matches that key anywhere; a dotted path
 *   ("actor.id", "toolCalls.input.customer.email", "details.*.phone") matches from the
 *   packet root, `*` matching one key, array indices skipped. Matching is
 *   case-insensitive. The value becomes "[redacted:<alg>:<32 hex>]" where the digest is
 *   HMAC-SHA256 keyed with `digestKey` when configured (recommended: plain SHA-256 of an
 *   e-mail address can be reversed by guessing) and SHA-256 otherwise.
 * - `piiPatterns`: regular expressions (sources) whose matches inside any string are
 *   replaced the same way.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from './canonical-json.js';

export const REDACTED = '[redacted]';

export const RedactionConfig = z.object({
  piiFields: z.array(z.string().min(1)).default([]).describe('key names or dotted paths from the packet root'),
  piiPatterns: z.array(z.string().min(1)).default([]).describe('regular expressions for PII inside free text'),
  digestKey: z.string().min(1).optional().describe('HMAC key for PII digests; without it digests are plain SHA-256'),
});
export type RedactionConfig = z.infer<typeof RedactionConfig>;

const SECRET_KEY = /token|secret|passw(or)?d|apikey|authori[sz]ation|credential|privatekey|cookie/;

const STRING_SCRUBBERS: readonly [RegExp, string][] = [
  [/\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]+=*/gi, `$1$2${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  [/\b([A-Za-z_-]*(?:token|secret|passw(?:or)?d|api[_-]?key|authorization)[A-Za-z_-]*["']?\s*[=:]\s*["']?)(?!\[redacted\]|bearer\b|basic\b)[^\s&"',;}]+/gi, `$1${REDACTED}`],
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+):[^\s@/]+@/gi, `$1:${REDACTED}@`],
];

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key.toLowerCase().replace(/[-_.\s]/g, ''));
}

export type Redactor = (value: unknown) => unknown;

/** Builds the redaction function for one configuration. The input is never mutated. */
export function createRedactor(config: Partial<RedactionConfig> = {}): Redactor {
  const cfg = RedactionConfig.parse(config);
  const names = new Set<string>();
  const paths: string[][] = [];
  for (const f of cfg.piiFields) {
    const segs = f.toLowerCase().split('.');
    if (segs.length === 1) names.add(segs[0] ?? f);
    else paths.push(segs);
  }
  const patterns = cfg.piiPatterns.map((p) => new RegExp(p, 'g'));

  const digest = (v: unknown): string => {
    const text = typeof v === 'string' ? v : canonicalJson(v);
    const hex = cfg.digestKey ? createHmac('sha256', cfg.digestKey).update(text).digest('hex') : sha256Hex(text);
    return `[redacted:${cfg.digestKey ? 'hmac-sha256' : 'sha256'}:${hex.slice(0, 32)}]`;
  };

  const isPii = (path: string[]): boolean => {
    const last = path[path.length - 1];
    if (last !== undefined && names.has(last)) return true;
    return paths.some((p) => p.length === path.length && p.every((seg, i) => seg === '*' || seg === path[i]));
  };

  const scrub = (s: string): string => {
    let out = s;
    for (const [re, replacement] of STRING_SCRUBBERS) out = out.replace(re, replacement);
    for (const re of patterns) out = out.replace(re, (m) => digest(m));
    return out;
  };

  const walk = (v: unknown, path: string[]): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((item: unknown) => walk(item, path));
    const plain: unknown = typeof (v as { toJSON?: unknown }).toJSON === 'function' ? JSON.parse(JSON.stringify(v)) : v;
    if (plain === null || typeof plain !== 'object') return walk(plain, path);
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(plain as Record<string, unknown>)) {
      const childPath = [...path, k.toLowerCase()];
      if (child === undefined) continue;
      if (isSecretKey(k) && child !== null && typeof child !== 'number' && typeof child !== 'boolean') out[k] = REDACTED;
      else if (child !== null && isPii(childPath)) out[k] = digest(child);
      else out[k] = walk(child, childPath);
    }
    return out;
  };

  return (value) => walk(value, []);
}
