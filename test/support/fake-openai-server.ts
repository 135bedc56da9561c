/**
 * A scripted LLM server on loopback for tests: OpenAI-compatible chat completions (any
 * path ending in /chat/completions, so Azure-style deployment paths work too) and the
 * Anthropic Messages API (/v1/messages). Each request takes the next scripted reply from
 * one queue and is recorded (path, query, headers, parsed body), so tests assert what was
 * sent and how many calls were made. Replies: an answer (rendered in the route's format,
 * with token usage), an HTTP status (with headers such as Retry-After), a malformed body,
 * or a hang (never answers: the client must time out).
 *
 * It also serves OpenAI-compatible embeddings (any path ending in /embeddings),
 * deterministically: words are mapped to concepts through a small synonym table
 * (CONCEPTS: "oom", "heap" and "memory" are one concept) and hashed into DIMENSIONS
 * buckets, so texts that say the same thing in different words are close, and texts
 * about different things are not. `scriptEmbeddings` queues failures (status, hang,
 * malformed) that take precedence over the computed answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ScriptedReply =
  | { kind: 'answer'; content: string; usage?: { prompt: number; completion: number } | null; model?: string; finishReason?: string }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'malformed-body' }
  | { kind: 'hang' }
  /** Built from the request (e.g. an answer that cites the finding ids the prompt lists). */
  | { kind: 'dynamic'; respond: (request: RecordedRequest) => Exclude<ScriptedReply, { kind: 'dynamic' }> };

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  body: unknown;
  route: 'openai' | 'anthropic' | 'embeddings' | 'other';
}

export interface FakeLlmServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** `${url}/v1`: the OpenAI-compatible base URL. */
  readonly openaiBaseUrl: string;
  readonly requests: RecordedRequest[];
  /** Append replies to the queue. */
  script(...replies: ScriptedReply[]): void;
  /** Append failures for the next embeddings requests (an 'answer' reply means: compute as usual). */
  scriptEmbeddings(...replies: ScriptedReply[]): void;
  /** Replies not yet used. */
  pending(): number;
  close(): Promise<void>;
}

/** An answer whose content is `value` as JSON (or the string as is). */
export function reply(value: unknown, usage: { prompt: number; completion: number } | null = { prompt: 1200, completion: 150 }, model?: string): Extract<ScriptedReply, { kind: 'answer' }> {
  return { kind: 'answer', content: typeof value === 'string' ? value : JSON.stringify(value), usage, ...(model ? { model } : {}) };
}

/** Vector length of the fake embeddings. */
export const DIMENSIONS = 64;

/** Synonym groups: every word of a group is the same concept to the fake embedding model. */
export const CONCEPTS: readonly (readonly string[])[] = [
  ['memory', 'oom', 'oomkilled', 'heap', 'leak', 'rss', 'gc', 'outofmemory', 'mem'],
  ['latency', 'slow', 'slowness', 'delay', 'delayed', 'p99', 'sluggish', 'lag'],
  ['errors', 'error', 'failures', 'failing', '5xx', 'exceptions', 'exception', '500'],
  ['database', 'db', 'postgres', 'sql', 'connections', 'pool', 'db_connections'],
  ['cpu', 'saturation', 'throttling', 'throttled', 'busy'],
  ['deploy', 'release', 'rollout', 'version', 'rollback'],
];

const STOP = new Set(['the', 'a', 'an', 'of', 'on', 'in', 'to', 'and', 'is', 'for', 'at', 'with', 'by', 'high']);

function bucket(token: string): number {
  let h = 2166136261;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 16777619);
  return (h >>> 0) % DIMENSIONS;
}

/** The fake model's embedding of `text` (unit length; zero for a text of stop words only). */
export function fakeEmbedding(text: string): number[] {
  const v = new Array<number>(DIMENSIONS).fill(0);
  for (const word of text.toLowerCase().split(/[^a-z0-9_]+/)) {
    if (word.length < 2 || STOP.has(word)) continue;
    const concept = CONCEPTS.findIndex((g) => g.includes(word));
    const b = bucket(concept >= 0 ? `concept:${concept}` : word);
    v[b] = (v[b] ?? 0) + 1;
  }
  const n = Math.sqrt(v.reduce((x, y) => x + y * y, 0));
  return n === 0 ? v : v.map((x) => x / n);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

function render(route: RecordedRequest['route'], r: Extract<ScriptedReply, { kind: 'answer' }>, requestedModel: string): unknown {
  const model = r.model ?? requestedModel;
  if (route === 'anthropic') {
    return {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: r.content }],
      stop_reason: r.finishReason ?? 'end_turn',
      ...(r.usage ? { usage: { input_tokens: r.usage.prompt, output_tokens: r.usage.completion } } : {}),
    };
  }
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: r.content }, finish_reason: r.finishReason ?? 'stop' }],
    ...(r.usage ? { usage: { prompt_tokens: r.usage.prompt, completion_tokens: r.usage.completion, total_tokens: r.usage.prompt + r.usage.completion } } : {}),
  };
}

export async function startFakeLlmServer(): Promise<FakeLlmServer> {
  const queue: ScriptedReply[] = [];
  const embeddingsQueue: ScriptedReply[] = [];
  const requests: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const u = new URL(req.url ?? '/', 'http://fake');
    const route: RecordedRequest['route'] = u.pathname.endsWith('/chat/completions')
      ? 'openai'
      : u.pathname === '/v1/messages'
        ? 'anthropic'
        : u.pathname.endsWith('/embeddings')
          ? 'embeddings'
          : 'other';
    let body: unknown = null;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = null;
    }
    requests.push({ method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: { ...req.headers }, rawBody, body, route });
    if (route === 'other' || req.method !== 'POST') return send(res, 404, { error: { message: 'not found' } });
    const scripted = route === 'embeddings' ? (embeddingsQueue.shift() ?? { kind: 'answer', content: '' }) : queue.shift();
    if (!scripted) return send(res, 500, { error: { message: 'fake server: no scripted reply left' } });
    const recorded = requests[requests.length - 1] as RecordedRequest;
    const next = scripted.kind === 'dynamic' ? scripted.respond(recorded) : scripted;
    switch (next.kind) {
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      case 'status':
        return send(res, next.status, next.body ?? { error: { message: `scripted ${next.status}` } }, next.headers);
      case 'malformed-body':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"choices": [ this is not json');
      case 'answer': {
        if (route === 'embeddings') {
          const b = body as { model?: unknown; input?: unknown } | null;
          const input = typeof b?.input === 'string' ? [b.input] : Array.isArray(b?.input) ? (b.input as unknown[]) : null;
          if (!input || !input.every((t) => typeof t === 'string') || typeof b?.model !== 'string') return send(res, 400, { error: { message: 'model and input (string or string[]) are required' } });
          return send(res, 200, {
            object: 'list',
            model: b.model,
            data: (input as string[]).map((t, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(t) })),
            usage: { prompt_tokens: 0, total_tokens: 0 },
          });
        }
        const model = typeof (body as { model?: unknown } | null)?.model === 'string' ? (body as { model: string }).model : 'fake-model';
        return send(res, 200, render(route, next, model));
      }
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: { message: String(err) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    requests,
    script: (...replies) => void queue.push(...replies),
    scriptEmbeddings: (...replies) => void embeddingsQueue.push(...replies),
    pending: () => queue.length,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
