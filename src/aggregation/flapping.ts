/**
 * Flapping: an alert that fires and resolves more than `threshold` times within
 * `windowSeconds` is flapping; it opens no new incident until it settles (its state
 * changes within the window drop back to the threshold). Transitions are kept as
 * epoch milliseconds and pruned to the window, so the state stays small.
 * Pure module: safe to import from workflow code.
 */
export interface FlappingPolicy {
  threshold: number;
  windowSeconds: number;
}

/** The transitions still inside the window ending at `nowMs`, plus this one if given. */
export function recordTransition(transitions: readonly number[], nowMs: number, policy: FlappingPolicy, add = true): number[] {
  const from = nowMs - policy.windowSeconds * 1000;
  const kept = transitions.filter((t) => t > from);
  if (add) kept.push(nowMs);
  return kept;
}

export function isFlapping(transitions: readonly number[], nowMs: number, policy: FlappingPolicy): boolean {
  const from = nowMs - policy.windowSeconds * 1000;
  return transitions.filter((t) => t > from).length > policy.threshold;
}
