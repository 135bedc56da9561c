/**
 * Turns zod issues into messages that name the bad field the way a sender writes it
 * (`alerts[0].startsAt: expected string, received number`), for 400 responses.
 */
import { z } from 'zod';
import type { PayloadIssue } from './errors.js';

/** At most this many issues are listed in a response. */
const MAX_ISSUES = 20;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `['alerts', 0, 'labels', 'a b']` → `alerts[0].labels["a b"]`; `[]` → `body`; `[1, 'name']` → `body[1].name`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out === '' ? 'body' : out.startsWith('[') ? `body${out}` : out;
}

/** Error map for safeParse: shorter, sender-oriented messages; everything else keeps zod's wording. */
export const payloadErrorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.code === 'invalid_value') {
    const expected = `expected ${iss.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    return iss.input === undefined ? `required (${expected})` : expected;
  }
  if (iss.code === 'invalid_type') {
    if (iss.input === undefined) return `required (expected ${iss.expected})`;
    const received = iss.input === null ? 'null' : Array.isArray(iss.input) ? 'array' : typeof iss.input;
    return `expected ${iss.expected}, received ${received}`;
  }
  return undefined;
};

/** One PayloadIssue per problem (unknown keys are split so each names its field). */
export function toPayloadIssues(error: z.ZodError): PayloadIssue[] {
  const out: PayloadIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({ path: formatPath([...issue.path, key]), message: 'unknown field' });
      }
      continue;
    }
    out.push({ path: formatPath(issue.path), message: issue.message });
  }
  return out;
}

/** The one-line message of a 400: `path: message; path: message (and N more)`. */
export function issuesMessage(issues: readonly PayloadIssue[]): string {
  const shown = issues.slice(0, MAX_ISSUES).map((i) => `${i.path}: ${i.message}`);
  const more = issues.length > MAX_ISSUES ? ` (and ${issues.length - MAX_ISSUES} more)` : '';
  return shown.join('; ') + more;
}

/** Issues capped for the response body. */
export function capIssues(issues: readonly PayloadIssue[]): PayloadIssue[] {
  return issues.slice(0, MAX_ISSUES);
}
