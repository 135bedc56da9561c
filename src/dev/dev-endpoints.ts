/**
 * Where the pieces of a running `vigil dev` listen (<dataDir>/dev.json), so that
 * `vigil simulate`, `vigil approve` and friends find them without flags.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const DevEndpoints = z.object({
  temporalAddress: z.string(),
  namespace: z.string(),
  taskQueue: z.string(),
  temporalUiUrl: z.string().optional(),
  ingestUrl: z.string(),
  simulatorMcpUrl: z.string(),
  simulatorControlUrl: z.string(),
  dataDir: z.string(),
  pid: z.number().int(),
});
export type DevEndpoints = z.infer<typeof DevEndpoints>;

export function readDevEndpoints(dataDir: string): DevEndpoints | undefined {
  try {
    const parsed = DevEndpoints.safeParse(JSON.parse(readFileSync(join(dataDir, 'dev.json'), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
