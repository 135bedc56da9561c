/**
 * Which of a group's inhibition sources the correlator needs to know. Sources that agree,
 * rule by rule, on whether they are a source of it, whether they are also its target,
 * and their `equal` labels inhibit exactly the same alerts of other groups; the
 * correlator needs one of them (the group's representative) firing, not each. A storm's
 * hundred critical pods of one service then cost one correlator call, not one per batch,
 * and the correlator's state holds one entry per such set instead of one per alert.
 * (Targets in the group itself are checked against all its firing sources locally.)
 */
import { equalKey, matchesAll, type CompiledRule, type LabelledAlert } from './matchers.js';

/** Per signature, the fingerprint of the group's source the correlator holds for it. */
export type RegisteredSources = Record<string, string>;

/** What inhibits the same alerts of other groups: per rule it is a source of, its role and `equal` key. */
export function sourceSignature(rules: readonly CompiledRule[], labels: Record<string, string>): string {
  const parts: string[] = [];
  for (const r of rules) {
    if (!matchesAll(r.source, labels)) continue;
    parts.push(`${r.index}:${matchesAll(r.target, labels) ? 't' : '-'}:${equalKey(r, labels)}`);
  }
  return parts.join('|');
}

export interface SourceChanges {
  add: LabelledAlert[];
  remove: string[];
}

/**
 * What the correlator must hear of the group's new and resolved sources, given what it
 * holds (`registered`, updated in place): a new source only when no firing source of its
 * signature is registered; a resolved one always, and if it was the representative, a
 * firing source of the same signature in its place. `firing` is every firing source of
 * the group after this batch (the resolved ones already marked resolved), with labels.
 */
export function sourceChanges(
  rules: readonly CompiledRule[],
  registered: RegisteredSources,
  added: readonly LabelledAlert[],
  resolved: readonly LabelledAlert[],
  firing: readonly LabelledAlert[],
): SourceChanges {
  const firingFps = new Set(firing.map((a) => a.fingerprint));
  const changes: SourceChanges = { add: [], remove: [] };
  for (const a of added) {
    const sig = sourceSignature(rules, a.labels);
    const holder = registered[sig];
    if (holder !== undefined && holder !== a.fingerprint && firingFps.has(holder)) continue;
    registered[sig] = a.fingerprint;
    changes.add.push(a);
  }
  for (const a of resolved) {
    // Always told: the correlator may hold it from before (an older group, other rules); removing what it lacks is free.
    changes.remove.push(a.fingerprint);
    const sig = sourceSignature(rules, a.labels);
    if (registered[sig] !== a.fingerprint) continue;
    const heir = firing.find((f) => f.fingerprint !== a.fingerprint && sourceSignature(rules, f.labels) === sig);
    if (heir) {
      registered[sig] = heir.fingerprint;
      changes.add.push(heir);
    } else delete registered[sig];
  }
  return changes;
}
