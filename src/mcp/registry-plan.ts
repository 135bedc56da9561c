/**
 * Turns one capability call into the tool calls its registry binding asks for
 * (docs/tool-registry.md): without `arguments`, one call with the capability's arguments
 * renamed by `argumentMap`; with `arguments`, each tool argument rendered from its
 * template; with `fanOut`, one call per selected entry, the entry's variables layered over
 * the capability's arguments. Rendering order: the capability's arguments, then the
 * binding's `variables`, then the fan-out entry, then the tool's `arguments`. Pure: no I/O.
 */
import type { CapabilityBinding } from '../schemas/config.js';
import { renderTemplate } from './registry-templates.js';

/** One call to make: the tool's arguments, and the variables the result adapter may read. */
export interface PlannedCall {
  arguments: Record<string, unknown>;
  vars: Record<string, unknown>;
  /** Index of the fan-out entry this call answers, for error messages. */
  entry?: number;
}

function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function scalarText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * The fan-out entries that answer a call: an entry variable that names an argument the
 * caller set must equal it (so `metric: error_rate` answers a call for `error_rate` and
 * every call that names no metric). Each selected entry is rendered against the arguments
 * and the binding's variables.
 */
function selectEntries(
  fanOut: NonNullable<CapabilityBinding['fanOut']>,
  args: Record<string, unknown>,
  base: Record<string, unknown>,
): { vars: Record<string, unknown>; entry: number }[] {
  const selected: { vars: Record<string, unknown>; entry: number }[] = [];
  for (const [index, entry] of fanOut.entries()) {
    const matches = Object.entries(entry).every(([k, v]) => !isSet(args[k]) || scalarText(args[k]) === v);
    if (!matches) continue;
    const rendered: Record<string, unknown> = {};
    for (const [k, template] of Object.entries(entry)) {
      const value = isSet(args[k]) ? args[k] : renderTemplate(template, base);
      if (isSet(value)) rendered[k] = value;
    }
    selected.push({ vars: { ...base, ...rendered }, entry: index });
  }
  return selected;
}

function toolArguments(binding: CapabilityBinding, vars: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!binding.arguments) {
    for (const [k, v] of Object.entries(vars)) if (isSet(v)) out[binding.argumentMap[k] ?? k] = v;
    return out;
  }
  for (const [name, template] of Object.entries(binding.arguments)) {
    const value = typeof template === 'string' ? renderTemplate(template, vars) : template;
    if (isSet(value)) out[name] = value;
  }
  return out;
}

/**
 * The tool calls for one capability call (validated arguments). An empty list means no
 * fan-out entry answers it. Throws TemplateError when a template needs an unset variable.
 */
export function planToolCalls(binding: CapabilityBinding, args: Record<string, unknown>): PlannedCall[] {
  const base: Record<string, unknown> = { ...args };
  for (const [name, template] of Object.entries(binding.variables ?? {})) {
    const value = renderTemplate(template, base);
    if (isSet(value)) base[name] = value;
  }
  if (!binding.fanOut) return [{ arguments: toolArguments(binding, base), vars: base }];
  return selectEntries(binding.fanOut, args, base).map(({ vars, entry }) => ({ arguments: toolArguments(binding, vars), vars, entry }));
}
