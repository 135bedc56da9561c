/**
 * In-process BM25 lexical retrieval: the embedded default for finding similar past
 * incidents and matching runbooks. Pure and deterministic.
 */
export interface Bm25Doc {
  id: string;
  text: string;
}

export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9_]+/)
    .filter((t) => t.length > 1);
}

export function bm25Search(docs: Bm25Doc[], query: string, opts: { k1?: number; b?: number; limit?: number } = {}): { id: string; score: number }[] {
  const k1 = opts.k1 ?? 1.2;
  const b = opts.b ?? 0.75;
  const tokenized = docs.map((d) => tokenize(d.text));
  const avgLen = tokenized.reduce((n, t) => n + t.length, 0) / Math.max(1, tokenized.length);
  const df = new Map<string, number>();
  for (const toks of tokenized) for (const t of new Set(toks)) df.set(t, (df.get(t) ?? 0) + 1);
  const q = [...new Set(tokenize(query))];
  const scored = docs.map((d, i) => {
    const toks = tokenized[i] ?? [];
    const tf = new Map<string, number>();
    for (const t of toks) tf.set(t, (tf.get(t) ?? 0) + 1);
    let score = 0;
    for (const term of q) {
      const f = tf.get(term) ?? 0;
      if (f === 0) continue;
      const n = df.get(term) ?? 0;
      const idf = Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
      score += (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * toks.length) / Math.max(1, avgLen)));
    }
    return { id: d.id, score };
  });
  return scored
    .filter((s) => s.score > 0)
    .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1))
    .slice(0, opts.limit ?? 5);
}
