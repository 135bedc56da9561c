/**
 * A cross-process lock file (`<log>.lock`) for the JSONL audit log. Node has no flock,
 * so the lock is a file created with O_CREAT|O_EXCL holding `{ pid, host, at, token }`.
 * Holders keep it for one batch of appends (milliseconds).
 *
 * A lock is stale when its process is gone (same host, `kill(pid, 0)` fails with ESRCH)
 * or it is older than `staleMs`. A stale lock is taken away by renaming it to a unique
 * name and checking that what was moved is the lock judged stale; if another process
 * had replaced it in between, the live lock is linked back. Release unlinks the file only
 * if it still carries this holder's token.
 */
import { randomUUID } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { AuditLockTimeoutError } from './audit-log.js';

export interface FileLockOptions {
  /** How long to wait for the lock. @default 30000 */
  timeoutMs?: number;
  /** A lock older than this is stale even if its process may exist. @default 60000 */
  staleMs?: number;
}

export interface HeldLock {
  release(): Promise<void>;
}

interface LockContent {
  pid: number;
  host: string;
  at: number;
  token: string;
}

const HOST = hostname();

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === 'EPERM';
  }
}

async function isStale(path: string, text: string, staleMs: number): Promise<boolean> {
  let content: Partial<LockContent> = {};
  try {
    content = JSON.parse(text) as Partial<LockContent>;
  } catch {
    /* being written, or garbage: judge by age */
  }
  if (content.host === HOST && typeof content.pid === 'number' && content.pid !== process.pid && !processAlive(content.pid)) return true;
  try {
    const age = Date.now() - (typeof content.at === 'number' ? content.at : (await stat(path)).mtimeMs);
    return age > staleMs;
  } catch {
    return false;
  }
}

export async function acquireFileLock(path: string, opts: FileLockOptions = {}): Promise<HeldLock> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const staleMs = opts.staleMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const token = randomUUID();
  let wait = 1;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(JSON.stringify({ pid: process.pid, host: HOST, at: Date.now(), token } satisfies LockContent));
      } finally {
        await fh.close();
      }
      return { release: () => releaseLock(path, token) };
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    const observed = await readFile(path, 'utf8').catch(() => undefined);
    if (observed === undefined) continue; // released meanwhile
    if (await isStale(path, observed, staleMs)) {
      await removeStale(path, observed);
      continue;
    }
    if (Date.now() > deadline) throw new AuditLockTimeoutError(path, observed);
    await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
    wait = Math.min(wait * 2, 50);
  }
}

async function removeStale(path: string, observed: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return;
    throw err;
  }
  const moved = await readFile(aside, 'utf8').catch(() => observed);
  if (moved !== observed) {
    // Another process took the stale lock first and we moved its live lock: put it back.
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

async function releaseLock(path: string, token: string): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => '');
  if (!text.includes(token)) return; // taken away as stale: not ours to remove
  await unlink(path).catch((err: unknown) => {
    if (errCode(err) !== 'ENOENT') throw err;
  });
}
