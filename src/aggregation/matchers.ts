/**
 * Alertmanager label matchers (`label=value`, `label!=value`, `label=~regex`,
 * `label!~regex`; values may be double-quoted) and the inhibition rule check built on
 * them. Regexes are anchored like Alertmanager's; a missing label reads as "".
 * Pure module: safe to import from workflow code.
 */
import type { Alert } from '../schemas/alert.js';
import type { InhibitRule } from './settings.js';

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

/** Thrown when a matcher string is not Alertmanager matcher syntax. */
export class MatcherSyntaxError extends Error {
  override readonly name = 'MatcherSyntaxError';
}

const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw new MatcherSyntaxError(`not a matcher: ${JSON.stringify(text)} (expected label=value, label!=value, label=~regex or label!~regex)`);
  const [, name = '', op = '=', raw = ''] = m;
  let value = raw;
  if (raw.startsWith('"')) {
    if (!raw.endsWith('"') || raw.length < 2) throw new MatcherSyntaxError(`unterminated quoted value in ${JSON.stringify(text)}`);
    try {
      value = JSON.parse(raw) as string;
    } catch {
      throw new MatcherSyntaxError(`bad quoted value in ${JSON.stringify(text)}`);
    }
  }
  if (op === '=~' || op === '!~') {
    try {
      new RegExp(`^(?:${value})$`);
    } catch (err) {
      throw new MatcherSyntaxError(`bad regex in ${JSON.stringify(text)}: ${(err as Error).message}`);
    }
  }
  return { name, op: op as MatchOp, value };
}

const regexCache = new Map<string, RegExp>();
function anchored(re: string): RegExp {
  let r = regexCache.get(re);
  if (!r) {
    r = new RegExp(`^(?:${re})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(re, r);
  }
  return r;
}

export function matches(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return anchored(m.value).test(v);
    case '!~':
      return !anchored(m.value).test(v);
  }
}

export function matchesAll(list: readonly Matcher[], labels: Record<string, string>): boolean {
  return list.every((m) => matches(m, labels));
}

/** A rule with its matchers parsed once. */
export interface CompiledRule {
  index: number;
  name: string;
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

export function compileRules(rules: readonly InhibitRule[]): CompiledRule[] {
  return rules.map((r, index) => ({
    index,
    name: r.name ?? `inhibit_rules[${index}]: ${r.source_matchers.join(',')} ⇒ ${r.target_matchers.join(',')}${r.equal.length ? ` equal [${r.equal.join(',')}]` : ''}`,
    source: r.source_matchers.map(parseMatcher),
    target: r.target_matchers.map(parseMatcher),
    equal: [...r.equal],
  }));
}

/** Every label name a rule reads: its source and target matchers and its `equal` list. */
export function labelNamesOf(rules: readonly CompiledRule[]): Set<string> {
  const names = new Set<string>();
  for (const r of rules) {
    for (const m of [...r.source, ...r.target]) names.add(m.name);
    for (const l of r.equal) names.add(l);
  }
  return names;
}

export type LabelledAlert = Pick<Alert, 'fingerprint' | 'labels'>;

export interface Inhibition {
  rule: string;
  sourceFingerprint: string;
  /** The source's group, when it is another group's alert. */
  sourceGroup?: string;
}

/** The values of a rule's `equal` labels in `labels` (missing = ""), as one key. */
export function equalKey(rule: Pick<CompiledRule, 'equal'>, labels: Record<string, string>): string {
  return JSON.stringify(rule.equal.map((l) => labels[l] ?? ''));
}

/** Is `alert` a possible source of any rule (so others may need to know it fires)? */
export function isSource(rules: readonly CompiledRule[], alert: LabelledAlert): boolean {
  return rules.some((r) => matchesAll(r.source, alert.labels));
}

export function isTarget(rules: readonly CompiledRule[], alert: LabelledAlert): boolean {
  return rules.some((r) => matchesAll(r.target, alert.labels));
}

/**
 * The first firing source that inhibits `target`, by Alertmanager's rules: the target
 * matches target_matchers, the source matches source_matchers, every `equal` label has
 * the same value in both (missing = ""), an alert never inhibits itself, and a source
 * that also matches the target side cannot inhibit a target that also matches the
 * source side (Alertmanager's two-sided exclusion, so two such alerts do not mute each other).
 */
export function findInhibitor(
  rules: readonly CompiledRule[],
  target: LabelledAlert,
  firingSources: readonly (LabelledAlert & { group?: string })[],
): Inhibition | undefined {
  for (const rule of rules) {
    if (!matchesAll(rule.target, target.labels)) continue;
    const targetIsSource = matchesAll(rule.source, target.labels);
    for (const s of firingSources) {
      if (s.fingerprint === target.fingerprint) continue;
      if (!matchesAll(rule.source, s.labels)) continue;
      if (!rule.equal.every((l) => (s.labels[l] ?? '') === (target.labels[l] ?? ''))) continue;
      if (targetIsSource && matchesAll(rule.target, s.labels)) continue;
      return { rule: rule.name, sourceFingerprint: s.fingerprint, ...(s.group ? { sourceGroup: s.group } : {}) };
    }
  }
  return undefined;
}
