/**
 * Posts incident notifications to the policy's webhooks: a Slack-compatible incoming
 * webhook payload (`{"text": ...}`) or a generic JSON document, each retried with
 * backoff. Returns what failed; never throws for one bad endpoint.
 */
export interface Notification {
  incidentId: string;
  event: string;
  text: string;
  severity: string;
  role?: string;
  level?: number;
  links?: Record<string, string>;
}

export interface WebhookTarget {
  url: string;
  format: 'slack' | 'generic';
}

export function webhookBody(n: Notification, format: WebhookTarget['format']): unknown {
  if (format === 'slack') {
    const who = n.role ? ` (for ${n.role}${n.level !== undefined ? `, level ${n.level + 1}` : ''})` : '';
    const links = Object.entries(n.links ?? {}).map(([k, v]) => `<${v}|${k}>`).join(' · ');
    return { text: `[vigil ${n.severity}] ${n.event}${who}: incident ${n.incidentId}: ${n.text}${links ? `\n${links}` : ''}` };
  }
  return { source: 'vigil', ...n, at: new Date().toISOString() };
}

export async function postWebhooks(
  n: Notification,
  targets: WebhookTarget[],
  opts: { attempts?: number; backoffMs?: number; timeoutMs?: number } = {},
): Promise<{ delivered: string[]; failed: { url: string; error: string }[] }> {
  const delivered: string[] = [];
  const failed: { url: string; error: string }[] = [];
  for (const t of targets) {
    let lastError = '';
    for (let attempt = 0; attempt < (opts.attempts ?? 3); attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, (opts.backoffMs ?? 500) * 2 ** (attempt - 1)));
      try {
        const res = await fetch(t.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(webhookBody(n, t.format)),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
        if (res.ok) {
          lastError = '';
          break;
        }
        lastError = `HTTP ${res.status}`;
        if (res.status >= 400 && res.status < 500 && res.status !== 429) break;
      } catch (err) {
        lastError = (err as Error).message;
      }
    }
    if (lastError) failed.push({ url: t.url, error: lastError });
    else delivered.push(t.url);
  }
  return { delivered, failed };
}
