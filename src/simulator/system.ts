/**
 * The simulated system: a small online shop of twelve services, their call graph,
 * releases, feature flags and normal operating levels, plus the benign changes that
 * happened before the simulation started. Pure data and pure helpers.
 */
import { z } from 'zod';
import { TopologyEdge, TopologyService } from '../schemas/telemetry.js';
import { hash, unit } from './random.js';

export const ServiceKind = TopologyService.shape.kind.unwrap();
export type ServiceKind = z.infer<typeof ServiceKind>;

/** A service of the simulated system and its normal operating levels. */
export const ServiceDef = z.object({
  name: z.string().min(1),
  kind: ServiceKind,
  replicas: z.number().int().positive().describe('replica count at start'),
  release: z.string().describe('current release, name@version'),
  previousRelease: z.string().nullable(),
  flags: z.record(z.string(), z.boolean()),
  requestRate: z.number().positive().describe('requests per second over all instances'),
  latencyP99: z.number().positive().describe('normal p99 latency, seconds'),
  cpu: z.number().min(0).max(1).describe('normal cpu usage per instance at the initial replica count'),
  memory: z.number().min(0).max(1).describe('normal memory usage, fraction of the limit'),
  errorRate: z.number().min(0).max(1).describe('normal error rate'),
  pool: z
    .object({ database: z.string(), size: z.number().int().positive(), inUse: z.number().positive() })
    .optional()
    .describe('client connection pool per instance, for services that own a database'),
  maxConnections: z.number().int().positive().optional().describe('databases: max_connections'),
});
export type ServiceDef = z.infer<typeof ServiceDef>;

/** Edge kinds: `calls` and `publishes` are synchronous (failures propagate to the source); `delivers` is async. */
export const PROPAGATING_EDGE_KINDS: readonly string[] = ['calls', 'publishes'];

/** A benign change recorded before the simulation starts, `age` seconds before the anchor. */
export const PriorChange = z.object({
  service: z.string(),
  kind: z.enum(['deploy', 'config']),
  age: z.number().positive(),
  description: z.string(),
  release: z.string().optional(),
});
export type PriorChange = z.infer<typeof PriorChange>;

export const SystemDef = z.object({
  name: z.string(),
  services: z.array(ServiceDef),
  edges: z.array(TopologyEdge),
  priorChanges: z.array(PriorChange),
});
export type SystemDef = z.infer<typeof SystemDef>;

const svc = (d: Omit<ServiceDef, 'previousRelease'> & { previousRelease?: string | null }): ServiceDef => ({
  previousRelease: null,
  ...d,
});

/** The built-in shop. */
export const SHOP_SYSTEM: SystemDef = {
  name: 'shop',
  services: [
    svc({ name: 'frontend', kind: 'gateway', replicas: 3, release: 'frontend@5.31.0', previousRelease: 'frontend@5.30.2', flags: { 'new-nav': true, 'recommendations-v2': false }, requestRate: 120, latencyP99: 0.42, cpu: 0.34, memory: 0.46, errorRate: 0.002 }),
    svc({ name: 'checkout', kind: 'service', replicas: 3, release: 'checkout@3.6.2', previousRelease: 'checkout@3.6.1', flags: { 'express-checkout': true, 'split-payments': false }, requestRate: 18, latencyP99: 0.34, cpu: 0.29, memory: 0.51, errorRate: 0.002 }),
    svc({ name: 'payment', kind: 'service', replicas: 3, release: 'payment@2.14.1', previousRelease: 'payment@2.14.0', flags: { '3ds-v2': false, 'retry-on-decline': true }, requestRate: 16, latencyP99: 0.22, cpu: 0.26, memory: 0.43, errorRate: 0.001, pool: { database: 'payments-db', size: 20, inUse: 5 } }),
    svc({ name: 'cart', kind: 'service', replicas: 2, release: 'cart@4.2.1', previousRelease: 'cart@4.2.0', flags: { 'persist-guest-carts': true, 'cart-recommendations': false }, requestRate: 64, latencyP99: 0.06, cpu: 0.21, memory: 0.38, errorRate: 0.001 }),
    svc({ name: 'inventory', kind: 'service', replicas: 2, release: 'inventory@1.22.0', previousRelease: 'inventory@1.21.3', flags: { 'reserve-async': false }, requestRate: 20, latencyP99: 0.12, cpu: 0.18, memory: 0.4, errorRate: 0.001, pool: { database: 'inventory-db', size: 15, inUse: 4 } }),
    svc({ name: 'shipping', kind: 'service', replicas: 2, release: 'shipping@1.9.3', previousRelease: 'shipping@1.9.2', flags: { 'carrier-failover': false }, requestRate: 26, latencyP99: 0.15, cpu: 0.16, memory: 0.35, errorRate: 0.002 }),
    svc({ name: 'catalog', kind: 'service', replicas: 3, release: 'catalog@3.8.0', previousRelease: 'catalog@3.7.2', flags: { 'search-v2': false, 'image-cdn': true }, requestRate: 95, latencyP99: 0.09, cpu: 0.31, memory: 0.48, errorRate: 0.001, pool: { database: 'catalog-db', size: 25, inUse: 6 } }),
    svc({ name: 'cart-cache', kind: 'cache', replicas: 2, release: 'cart-cache@7.2.4', previousRelease: 'cart-cache@7.2.3', flags: {}, requestRate: 150, latencyP99: 0.004, cpu: 0.12, memory: 0.55, errorRate: 0.0002 }),
    svc({ name: 'orders-queue', kind: 'queue', replicas: 2, release: 'orders-queue@3.12.1', previousRelease: 'orders-queue@3.12.0', flags: {}, requestRate: 12, latencyP99: 0.012, cpu: 0.1, memory: 0.33, errorRate: 0.0001 }),
    svc({ name: 'payments-db', kind: 'database', replicas: 2, release: 'payments-db@15.6', previousRelease: 'payments-db@15.5', flags: {}, requestRate: 48, latencyP99: 0.018, cpu: 0.22, memory: 0.62, errorRate: 0.0002, maxConnections: 200 }),
    svc({ name: 'inventory-db', kind: 'database', replicas: 2, release: 'inventory-db@15.6', previousRelease: 'inventory-db@15.5', flags: {}, requestRate: 40, latencyP99: 0.015, cpu: 0.19, memory: 0.58, errorRate: 0.0002, maxConnections: 100 }),
    svc({ name: 'catalog-db', kind: 'database', replicas: 2, release: 'catalog-db@15.6', previousRelease: 'catalog-db@15.5', flags: {}, requestRate: 180, latencyP99: 0.02, cpu: 0.28, memory: 0.66, errorRate: 0.0002, maxConnections: 200 }),
  ],
  edges: [
    { source: 'frontend', target: 'catalog', kind: 'calls' },
    { source: 'frontend', target: 'cart', kind: 'calls' },
    { source: 'frontend', target: 'checkout', kind: 'calls' },
    { source: 'checkout', target: 'cart', kind: 'calls' },
    { source: 'checkout', target: 'inventory', kind: 'calls' },
    { source: 'checkout', target: 'payment', kind: 'calls' },
    { source: 'checkout', target: 'shipping', kind: 'calls' },
    { source: 'checkout', target: 'orders-queue', kind: 'publishes' },
    { source: 'orders-queue', target: 'shipping', kind: 'delivers' },
    { source: 'cart', target: 'cart-cache', kind: 'calls' },
    { source: 'catalog', target: 'catalog-db', kind: 'calls' },
    { source: 'inventory', target: 'inventory-db', kind: 'calls' },
    { source: 'payment', target: 'payments-db', kind: 'calls' },
  ],
  priorChanges: [
    { service: 'shipping', kind: 'deploy', age: 26 * 3600, release: 'shipping@1.9.3', description: 'deploy shipping@1.9.3 (from shipping@1.9.2): carrier rate cache' },
    { service: 'catalog', kind: 'deploy', age: 5 * 3600, release: 'catalog@3.8.0', description: 'deploy catalog@3.8.0 (from catalog@3.7.2): product badges' },
    { service: 'inventory', kind: 'config', age: 3 * 3600 + 20 * 60, description: 'config: reserve timeout 2s -> 3s' },
    { service: 'cart', kind: 'deploy', age: 2 * 3600 + 10 * 60, release: 'cart@4.2.1', description: 'deploy cart@4.2.1 (from cart@4.2.0): fix guest cart merge' },
    { service: 'frontend', kind: 'deploy', age: 40 * 60, release: 'frontend@5.31.0', description: 'deploy frontend@5.31.0 (from frontend@5.30.2): new navigation bar' },
  ],
};

/** Operations (HTTP routes, queries, commands) each service serves, for logs and spans. */
export const SERVICE_OPERATIONS: Readonly<Record<string, readonly string[]>> = {
  frontend: ['GET /', 'GET /products', 'GET /product/{id}', 'POST /cart/items', 'POST /checkout'],
  checkout: ['POST /orders'],
  payment: ['POST /charges'],
  cart: ['GET /carts/{id}', 'POST /carts/{id}/items'],
  inventory: ['POST /reservations', 'GET /stock/{sku}'],
  shipping: ['POST /quotes'],
  catalog: ['GET /products', 'GET /products/{id}', 'GET /search'],
  'cart-cache': ['HGETALL cart:{id}', 'HSET cart:{id}'],
  'orders-queue': ['publish orders'],
  'payments-db': ['INSERT charges', 'SELECT charges'],
  'inventory-db': ['UPDATE stock', 'SELECT stock'],
  'catalog-db': ['SELECT products'],
};

/** Operation of an entry service when it calls a given callee (`source->target`), for root spans. */
export const ROUTE_OPERATIONS: Readonly<Record<string, string>> = {
  'frontend->catalog': 'GET /products',
  'frontend->cart': 'POST /cart/items',
  'frontend->checkout': 'POST /checkout',
};

/** Operation of a consumer that receives messages from a queue. */
export const consumeOperation = (queue: string): string => `consume ${queue}`;

const KIND_OPERATIONS: Readonly<Record<ServiceKind, readonly string[]>> = {
  service: ['handle request'],
  gateway: ['GET /'],
  database: ['query'],
  cache: ['GET'],
  queue: ['publish'],
  external: ['call'],
};

export function operationsOf(def: ServiceDef): readonly string[] {
  return SERVICE_OPERATIONS[def.name] ?? KIND_OPERATIONS[def.kind];
}

/** Index of the system for fast look-ups; built once per model. */
export interface SystemIndex {
  readonly def: SystemDef;
  readonly byName: ReadonlyMap<string, ServiceDef>;
  /** caller -> callees over propagating edges */
  readonly callees: ReadonlyMap<string, readonly string[]>;
  /** callee -> callers over propagating edges */
  readonly callers: ReadonlyMap<string, readonly string[]>;
}

export function indexSystem(def: SystemDef): SystemIndex {
  const byName = new Map(def.services.map((s) => [s.name, s]));
  const callees = new Map<string, string[]>();
  const callers = new Map<string, string[]>();
  for (const e of def.edges) {
    if (!byName.has(e.source) || !byName.has(e.target)) throw new Error(`edge ${e.source}->${e.target} names an unknown service`);
    if (!PROPAGATING_EDGE_KINDS.includes(e.kind)) continue;
    callees.set(e.source, [...(callees.get(e.source) ?? []), e.target]);
    callers.set(e.target, [...(callers.get(e.target) ?? []), e.source]);
  }
  return { def, byName, callees, callers };
}

/** Services upstream of `root` (its direct and indirect callers) with their hop distance. */
export function upstreamHops(index: SystemIndex, root: string): Map<string, number> {
  const hops = new Map<string, number>([[root, 0]]);
  let frontier = [root];
  for (let d = 1; frontier.length > 0; d++) {
    const next: string[] = [];
    for (const s of frontier) {
      for (const caller of index.callers.get(s) ?? []) {
        if (hops.has(caller)) continue;
        hops.set(caller, d);
        next.push(caller);
      }
    }
    frontier = next;
  }
  return hops;
}

const POD_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function podChars(h: number, n: number): string {
  let out = '';
  let x = h;
  for (let i = 0; i < n; i++) {
    out += POD_ALPHABET[Math.floor(unit(x) * POD_ALPHABET.length)] ?? 'x';
    x = hash(x, i);
  }
  return out;
}

/**
 * Name of instance `i` of a service: a Deployment pod (`payment-7d4f9-x2k1p`) for
 * services and gateways, a StatefulSet pod (`payments-db-0`) for databases, caches and queues.
 * Stable for a seed: restarts and rollbacks keep names, so series stay continuous.
 */
export function instanceName(seed: number, service: ServiceDef, i: number): string {
  if (service.kind === 'database' || service.kind === 'cache' || service.kind === 'queue') return `${service.name}-${i}`;
  return `${service.name}-${podChars(hash(seed, service.name, 'replicaset'), 5)}-${podChars(hash(seed, service.name, 'pod', i), 5)}`;
}
