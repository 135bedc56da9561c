/**
 * Peak resident memory for the evaluation summary: this process's peak (workers,
 * replay servers, ingest: process.resourceUsage().maxRSS) and the peak of its child
 * processes (the embedded Temporal dev server), read from /proc where there is one.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Peak RSS of this process, in bytes. */
export function selfPeakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

function vmHwm(pid: number | string): { ppid: number; bytes: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    const hwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return hwm ? { ppid, bytes: Number(hwm) * 1024 } : null;
  } catch {
    return null;
  }
}

/** Peak RSS (VmHWM) of one live process, in bytes; null without /proc or when it is gone. */
export function processPeakRss(pid: number): number | null {
  return vmHwm(pid)?.bytes ?? null;
}

/** Sum of the peak RSS of this process's live children, in bytes; null without /proc. */
export function childrenPeakRss(pid = process.pid): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return null;
  }
  let total = 0;
  for (const e of entries) {
    const s = vmHwm(e);
    if (s && s.ppid === pid) total += s.bytes;
  }
  return total;
}
