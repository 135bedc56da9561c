/** `vigil token --as <who> [--ttl seconds]`: a signed approver token from the dev identity file. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { PACKAGE_ROOT } from '../config.js';
import { issueApproverToken } from '../identity/approver-token.js';
import { CliError, int, str } from './cli-common.js';

const DevIdentity = z.object({
  kid: z.string(),
  privateKey: z.string(),
  people: z.array(z.object({ id: z.string(), role: z.string() })),
});

export async function runToken(v: Record<string, string | boolean | undefined>): Promise<number> {
  const who = str(v['as']);
  if (!who) throw new CliError('token needs --as <identity>', 2, true);
  const file = process.env['VIGIL_IDENTITY_FILE'] ?? join(PACKAGE_ROOT, 'config', 'dev-identity.yaml');
  const parsed = DevIdentity.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new CliError(`invalid identity file ${file}`);
  const person = parsed.data.people.find((p) => p.id === who);
  if (!person) throw new CliError(`${who} is not in ${file}`);
  const token = issueApproverToken({
    sub: person.id,
    role: person.role,
    kid: parsed.data.kid,
    privateKey: parsed.data.privateKey,
    nowSeconds: Math.floor(Date.now() / 1000),
    ttlSeconds: int(v['ttl'], 'ttl') ?? 3600,
  });
  process.stdout.write(`${token}\n`);
  return 0;
}
