/**
 * Small pure statistics and formatting helpers shared by the analyses:
 * quantiles, median / MAD, robust scale with a floor, time and number formatting.
 * No I/O, no clocks: safe inside Temporal workflows and activities.
 */

/** Quantile q (0..1) of `values` by linear interpolation; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = Math.min(Math.max(q, 0), 1) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Median absolute deviation (unscaled). */
export function mad(values: readonly number[], center = median(values)): number {
  return median(values.map((v) => Math.abs(v - center)));
}

/** Consistency constant that makes 1.4826 * MAD estimate sigma for normal data. */
export const MAD_TO_SIGMA = 1.4826;

/** Share of |median| below which a change counts as none (the relative floor of a robust scale). @default 0.01 */
export const RELATIVE_FLOOR = 0.01;

/**
 * Spread of a series' moves: the MAD of the points that leave the center by more than
 * the relative floor (RELATIVE_FLOOR of it: a change below it counts as none), in
 * sigma units. For a series that sits at one value most of the time, where the MAD
 * is zero or barely above the floor (a histogram quantile with every request in one
 * bucket: p99 = 4.96 ms for hours, then 9.85 ms; an idle counter), this is how far
 * it moves when it moves (a bucket's width, its usual blip): its noise, where the
 * MAD would fall back to 1% of its level and make one bucket a robust z of 100. For
 * a series that moves all the time it is about its MAD, slightly above (the points
 * within the floor, which a MAD counts, are left out). Float and averaging wobble of
 * a pinned quantile (4.95 vs 4.96 ms) stays below the floor and is no move. 0 when
 * no point moves (nothing is known of its noise).
 */
export function departureScale(values: readonly number[], center = median(values)): number {
  const tol = RELATIVE_FLOOR * Math.max(Math.abs(center), 1e-12);
  const away = values.map((v) => Math.abs(v - center)).filter((d) => d > tol);
  return away.length > 0 ? MAD_TO_SIGMA * median(away) : 0;
}

/**
 * Robust location and scale of a baseline. The scale is 1.4826 * MAD, or the spread
 * of the points that move beyond the relative floor (departureScale) where that is
 * larger (a series pinned to one value most of the time). It is floored so a flat
 * (constant) baseline does not yield an infinite z-score: the floor is the largest of
 * a tenth of the inter-decile half-range, 1% of |median| and an absolute epsilon
 * relative to the magnitude of the series (`magnitude`).
 */
export function robustBaseline(
  values: readonly number[],
  magnitude = 0,
): { center: number; scale: number } {
  const center = median(values);
  const madScale = Math.max(MAD_TO_SIGMA * mad(values, center), departureScale(values, center));
  const spread = (quantile(values, 0.9) - quantile(values, 0.1)) / 2;
  const floor = Math.max(0.1 * spread, RELATIVE_FLOOR * Math.abs(center), 1e-3 * Math.abs(magnitude), 1e-9);
  return { center, scale: Math.max(madScale, floor) };
}

/**
 * Resolution of a gauge that counts whole things (connections, threads, pods): 1 when
 * every value is a whole number, else 0 (unknown). A move of one unit is the smallest
 * change such a gauge can show, so a robust scale below it overstates any change.
 */
export function resolution(values: readonly number[]): number {
  return values.length > 0 && values.every((v) => Number.isInteger(v)) ? 1 : 0;
}

/** "10:04:20Z" for an epoch-seconds time (UTC). */
export function clockTime(epochSeconds: number): string {
  return new Date(Math.round(epochSeconds * 1000)).toISOString().slice(11, 19) + 'Z';
}

/** Number with three significant digits, no exponent for everyday magnitudes. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

/** Strip control characters and truncate untrusted text before quoting it. */
export function sanitizeQuote(text: string, max = 160): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > max ? clean.slice(0, max - 1) + '…' : clean;
}

/** Stable comparator: score desc, then the given key asc. */
export function byScoreThenKey<T>(score: (t: T) => number, key: (t: T) => string) {
  return (a: T, b: T): number => {
    const d = score(b) - score(a);
    if (d !== 0 && Number.isFinite(d)) return d;
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p >= 1) return 1;
  let term = (1 - p) ** n; // P(X = 0)
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term *= ((n - i) / (i + 1)) * (p / (1 - p));
  }
  return Math.max(0, 1 - below);
}

/** Significance level of the tests that tell a shift from sampling noise. @default 0.01 */
export const SHIFT_ALPHA = 0.01;
