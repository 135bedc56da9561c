/**
 * Deterministic pseudo-randomness for the simulator: every "random" value is a pure
 * hash of the seed and of what it describes (series, timestamp, bucket), so any
 * telemetry window can be regenerated at any time and the same seed gives the same data.
 */

/** 32-bit mix of two integers (murmur3 finalizer over a combined word). */
export function mix(a: number, b: number): number {
  let h = (a ^ Math.imul(b | 0, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a of a string, folded with `base`. */
export function hashString(base: number, s: string): number {
  let h = (0x811c9dc5 ^ base) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix(h >>> 0, base);
}

/** Hash of any mix of strings and numbers (numbers are taken at millisecond precision). */
export function hash(base: number, ...parts: readonly (string | number)[]): number {
  let h = base >>> 0;
  for (const p of parts) {
    h = typeof p === 'string' ? hashString(h, p) : mix(mix(h, Math.round(p * 1000) | 0), Math.floor(p / 4_294_967.296) ^ 0x3c6ef372);
  }
  return h >>> 0;
}

/** Uniform value in [0, 1) from a hash. */
export function unit(h: number): number {
  return (h >>> 0) / 4_294_967_296;
}

/** Uniform value in [0, 1) from a hash of the parts. */
export function uniform(base: number, ...parts: readonly (string | number)[]): number {
  return unit(hash(base, ...parts));
}

/** Deterministic pick from a non-empty list. */
export function pick<T>(items: readonly [T, ...T[]] | readonly T[], u: number): T {
  const item = items[Math.min(items.length - 1, Math.floor(u * items.length))];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/**
 * Smooth noise in [-1, 1]: value noise over `period`-second knots plus a little
 * per-timestamp jitter, so coarse and fine steps both look like a real signal.
 */
export function noise(seriesHash: number, t: number, period = 30): number {
  const k = Math.floor(t / period);
  const f = t / period - k;
  const s = f * f * (3 - 2 * f);
  const a = unit(mix(seriesHash, k)) * 2 - 1;
  const b = unit(mix(seriesHash, k + 1)) * 2 - 1;
  const jitter = unit(mix(seriesHash ^ 0x5bd1e995, Math.round(t * 1000) | 0)) * 2 - 1;
  return 0.75 * (a + (b - a) * s) + 0.25 * jitter;
}

/** Lowercase hex id of `bytes` bytes, derived from the parts. */
export function hexId(base: number, bytes: number, ...parts: readonly (string | number)[]): string {
  let out = '';
  let h = hash(base, ...parts);
  while (out.length < bytes * 2) {
    out += h.toString(16).padStart(8, '0');
    h = mix(h, out.length);
  }
  return out.slice(0, bytes * 2);
}

/** Number from a seed given as a number or a string. */
export function seedNumber(seed: number | string): number {
  return typeof seed === 'number' ? mix(Math.floor(seed) >>> 0, 0x2545f491) : hashString(0x2545f491, seed);
}
