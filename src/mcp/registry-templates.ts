/**
 * Argument templates of the tool registry (docs/tool-registry.md): how a capability's
 * arguments (`start`, `end`, `step`, `service`, `metric`, ...) become the arguments a
 * third-party tool wants, in its own formats, without code per server.
 *
 * Syntax: text with `{{name}}` or `{{name|filter|filter:arg}}` expressions.
 * - A template renders to a string. A template that is one expression and nothing
 *   else renders to nothing when its variable is unset (the tool argument is left out),
 *   and keeps the value's own type when its last filter is `raw`.
 * - An unset variable inside a longer template is an error (give it a `default:`).
 * Filters (an unset value passes through every filter but `default`):
 *   rfc3339      epoch seconds -> `2024-05-01T12:00:00.000Z`
 *   unix         epoch seconds -> `1714564800` (fraction kept when there is one)
 *   unix_ms      epoch seconds -> integer milliseconds
 *   duration     seconds -> `15s` (`1500ms` when not whole seconds)
 *   regex        escapes RE2/JavaScript regex metacharacters
 *   promql_string escapes `\` `"` and newlines for a double-quoted PromQL/LogQL/JSON string
 *   default:TEXT TEXT when unset (TEXT runs to the next `|` or `}}`)
 *   raw          keeps the value's type (only as the last filter of a one-expression template)
 * Pure: no I/O.
 */

/** Thrown when a template cannot be parsed or rendered; the message says which and why. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export const TEMPLATE_FILTERS = ['rfc3339', 'unix', 'unix_ms', 'duration', 'regex', 'promql_string', 'default', 'raw'] as const;
export type TemplateFilter = (typeof TEMPLATE_FILTERS)[number];

interface Expression {
  variable: string;
  filters: { name: TemplateFilter; arg: string | undefined }[];
}
type Part = string | Expression;

const EXPRESSION = /\{\{(.*?)\}\}/gs;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function parseExpression(source: string, template: string): Expression {
  const [head = '', ...rest] = source.split('|');
  const variable = head.trim();
  if (!NAME.test(variable)) throw new TemplateError(`template "${template}": "${variable}" is not a variable name`);
  const filters = rest.map((f, i) => {
    const colon = f.indexOf(':');
    const name = (colon < 0 ? f : f.slice(0, colon)).trim();
    const arg = colon < 0 ? undefined : f.slice(colon + 1);
    if (!(TEMPLATE_FILTERS as readonly string[]).includes(name)) {
      throw new TemplateError(`template "${template}": unknown filter "${name}" (known: ${TEMPLATE_FILTERS.join(', ')})`);
    }
    if (name === 'default' && arg === undefined) throw new TemplateError(`template "${template}": default needs a value (default:TEXT)`);
    if (name === 'raw' && i !== rest.length - 1) throw new TemplateError(`template "${template}": raw must be the last filter`);
    return { name: name as TemplateFilter, arg };
  });
  return { variable, filters };
}

/** Splits a template into literal text and expressions; throws TemplateError when malformed. */
export function parseTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(EXPRESSION)) {
    if (m.index > last) parts.push(template.slice(last, m.index));
    parts.push(parseExpression(m[1] ?? '', template));
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  const whole = parts.length === 1 && typeof parts[0] !== 'string';
  for (const p of parts) {
    if (typeof p !== 'string' && !whole && p.filters.some((f) => f.name === 'raw')) {
      throw new TemplateError(`template "${template}": raw is only allowed when the template is a single {{...}} expression`);
    }
  }
  for (const p of parts) if (typeof p === 'string' && p.includes('{{')) throw new TemplateError(`template "${template}": unclosed {{`);
  return parts;
}

/** The variables a template reads (for validation and documentation). */
export function templateVariables(template: string): string[] {
  return parseTemplate(template).flatMap((p) => (typeof p === 'string' ? [] : [p.variable]));
}

function epochSeconds(value: unknown, filter: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  throw new TemplateError(`${filter} needs a number of seconds, got ${JSON.stringify(value)}`);
}

function applyFilter(value: unknown, filter: Expression['filters'][number]): unknown {
  if (filter.name === 'default') return value === undefined || value === null ? filter.arg : value;
  if (value === undefined || value === null || filter.name === 'raw') return value;
  switch (filter.name) {
    case 'rfc3339':
      return new Date(epochSeconds(value, 'rfc3339') * 1000).toISOString();
    case 'unix':
      return String(epochSeconds(value, 'unix'));
    case 'unix_ms':
      return String(Math.round(epochSeconds(value, 'unix_ms') * 1000));
    case 'duration': {
      const s = epochSeconds(value, 'duration');
      return Number.isInteger(s) ? `${s}s` : `${Math.round(s * 1000)}ms`;
    }
    case 'regex':
      return stringify(value).replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
    case 'promql_string':
      return stringify(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  }
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function evaluate(expr: Expression, vars: Readonly<Record<string, unknown>>): unknown {
  let value = vars[expr.variable];
  for (const f of expr.filters) value = applyFilter(value, f);
  return value;
}

/**
 * Renders a template against variables. Returns undefined when the template is one
 * expression whose variable is unset; the raw value when that expression ends in `raw`.
 */
export function renderTemplate(template: string, vars: Readonly<Record<string, unknown>>): unknown {
  const parts = parseTemplate(template);
  const only = parts.length === 1 ? parts[0] : undefined;
  try {
    if (only !== undefined && typeof only !== 'string') {
      const value = evaluate(only, vars);
      if (value === undefined || value === null) return undefined;
      return only.filters.at(-1)?.name === 'raw' ? value : stringify(value);
    }
    return parts
      .map((p) => {
        if (typeof p === 'string') return p;
        const value = evaluate(p, vars);
        if (value === undefined || value === null) throw new TemplateError(`{{${p.variable}}} is not set (give it a default: filter)`);
        return stringify(value);
      })
      .join('');
  } catch (err) {
    if (err instanceof TemplateError) throw new TemplateError(`template "${template}": ${err.message.replace(/^template "[^"]*": /, '')}`);
    throw err;
  }
}
