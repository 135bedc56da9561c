/**
 * Signed approver tokens: `v1.<base64url(payload)>.<base64url(Ed25519 signature)>`.
 * The payload names the person (`sub`), their `role`, when it expires and which key
 * signed it (`kid`). Verification is pure JavaScript so the workflow's update validator
 * can check a decision itself; the policy carries only public keys, so no secret ever
 * enters workflow history.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha512';
import { z } from 'zod';
import { decodeBase64url, encodeBase64url, utf8Decode, utf8Encode } from './base64url.js';

ed.etc.sha512Sync = (...m: Uint8Array[]) => sha512(ed.etc.concatBytes(...m));

export const TokenPayload = z.object({
  sub: z.string().min(1),
  role: z.string().min(1),
  iat: z.number().int(),
  exp: z.number().int(),
  kid: z.string().min(1),
});
export type TokenPayload = z.infer<typeof TokenPayload>;

export const TokenKey = z.object({ kid: z.string().min(1), publicKey: z.string().min(40).describe('base64url Ed25519 public key') });
export type TokenKey = z.infer<typeof TokenKey>;

export type TokenCheck = { ok: true; payload: TokenPayload } | { ok: false; reason: string };

/** Verifies a token against the policy's keys at `nowSeconds`. */
export function verifyApproverToken(token: string, keys: TokenKey[], nowSeconds: number): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== 'v1') return { ok: false, reason: 'malformed token' };
  let payload: TokenPayload;
  let signature: Uint8Array;
  try {
    const parsed = TokenPayload.safeParse(JSON.parse(utf8Decode(decodeBase64url(parts[1] ?? ''))));
    if (!parsed.success) return { ok: false, reason: 'malformed token payload' };
    payload = parsed.data;
    signature = decodeBase64url(parts[2] ?? '');
  } catch {
    return { ok: false, reason: 'malformed token' };
  }
  const key = keys.find((k) => k.kid === payload.kid);
  if (!key) return { ok: false, reason: `token signed by unknown key "${payload.kid}"` };
  let valid = false;
  try {
    valid = ed.verify(signature, utf8Encode(`v1.${parts[1]}`), decodeBase64url(key.publicKey));
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'token signature does not verify' };
  if (payload.exp <= nowSeconds) return { ok: false, reason: `token expired at ${new Date(payload.exp * 1000).toISOString()}` };
  return { ok: true, payload };
}

/** Issues a token (CLI side). `privateKey` is the base64url 32-byte Ed25519 seed. */
export function issueApproverToken(input: { sub: string; role: string; kid: string; privateKey: string; nowSeconds: number; ttlSeconds: number }): string {
  const payload: TokenPayload = { sub: input.sub, role: input.role, iat: input.nowSeconds, exp: input.nowSeconds + input.ttlSeconds, kid: input.kid };
  const body = encodeBase64url(utf8Encode(JSON.stringify(payload)));
  const sig = ed.sign(utf8Encode(`v1.${body}`), decodeBase64url(input.privateKey));
  return `v1.${body}.${encodeBase64url(sig)}`;
}

export function publicKeyOf(privateKey: string): string {
  return encodeBase64url(ed.getPublicKey(decodeBase64url(privateKey)));
}
