/** Writes variants of the dev policy for tests (short timeouts, other rules). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DEFAULT_POLICY_FILE } from '../../src/config.js';
import { Policy } from '../../src/schemas/policy.js';
import { tempDir } from './temporal.js';

export function writePolicy(change: (p: Policy) => void): string {
  const policy = Policy.parse(parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')));
  policy.version = `test-${Math.random().toString(36).slice(2, 8)}`;
  policy.verification.windowSeconds = 90;
  policy.checkpoint.sampleRate = 0; // no random spot checks unless the test asks for them
  change(policy);
  const file = join(tempDir('policy'), 'policy.yaml');
  writeFileSync(file, stringify(Policy.parse(policy)));
  return file;
}
