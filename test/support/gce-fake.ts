// An in-memory Compute Engine REST API (v1) behind GceProvider's transport: no GCE emulator runs
// here, so the provider is tested at its HTTP boundary against the documented shapes. Implements
// what the provider calls: instances insert/get/delete, zonal operations wait, aggregated list with
// `labels.K = "V"` filters joined by AND, and pagination. Faults are injected per zone or per call.

import type { GceRequest, GceResponse } from '../../adapters/gcp/gce-provider.ts';

export interface FakeInstance {
  name: string;
  zone: string;
  status: string;
  machineType: string;
  labels: Record<string, string>;
  networkInterfaces: { networkIP: string }[];
  /** The insert body as received (for assertions). */
  body: Record<string, unknown>;
}

type OpError = { code: string; message: string };

export class GceFake {
  readonly instances = new Map<string, FakeInstance>();
  readonly calls: GceRequest[] = [];
  /** Zone → the error every insert there fails with (in the finished operation, as GCE does). */
  readonly zoneErrors = new Map<string, OpError>();
  /** HTTP answers returned instead of the next calls (FIFO), e.g. 429s. */
  readonly nextHttpErrors: { status: number; reason: string; message: string }[] = [];
  /** Status a newly inserted instance gets (RUNNING; TERMINATED = preempted at once; GONE = preempted and deleted). */
  insertStatus = 'RUNNING';
  /** Zone → machine types it does not offer: insert answers 400 invalid, as GCE does. */
  readonly missingTypes = new Map<string, Set<string>>();
  /** Zones the aggregated list reports as unreachable. */
  unreachables: string[] = [];
  /** How many `wait` calls answer an operation still RUNNING before it is DONE. */
  slowWaits = 0;
  pageSize = 2;
  private ops = new Map<string, Record<string, unknown>>();
  private seq = 0;

  constructor(readonly project: string) {}

  /** Adds an instance as if created outside this test's provider (another deployment, an old attempt). */
  add(i: Omit<FakeInstance, 'networkInterfaces' | 'body'>): void {
    this.instances.set(`${i.zone}/${i.name}`, { ...i, networkInterfaces: [{ networkIP: `10.1.0.${this.instances.size + 2}` }], body: {} });
  }

  inserts(): Record<string, unknown>[] {
    return this.calls.filter((c) => c.method === 'POST' && c.url.endsWith('/instances')).map((c) => c.body as Record<string, unknown>);
  }

  transport = async (req: GceRequest): Promise<GceResponse> => {
    this.calls.push(req);
    const injected = this.nextHttpErrors.shift();
    if (injected) return err(injected.status, injected.reason, injected.message);
    const url = new URL(req.url);
    const prefix = `/compute/v1/projects/${this.project}/`;
    if (!url.pathname.startsWith(prefix)) return err(404, 'notFound', `unknown project in ${url.pathname}`);
    const path = url.pathname.slice(prefix.length).split('/');

    if (req.method === 'GET' && path[0] === 'aggregated' && path[1] === 'instances') return this.aggregated(url.searchParams);
    if (path[0] !== 'zones' || !path[1]) return err(404, 'notFound', `no route ${url.pathname}`);
    const zone = path[1];
    if (path[2] === 'operations' && path[4] === 'wait' && req.method === 'POST') {
      const op = this.ops.get(path[3]!);
      if (op && this.slowWaits > 0) {
        this.slowWaits -= 1;
        return ok({ ...op, status: 'RUNNING', error: undefined });
      }
      return op ? ok(op) : err(404, 'notFound', `operation ${path[3]} not found`);
    }
    if (path[2] !== 'instances') return err(404, 'notFound', `no route ${url.pathname}`);
    const name = path[3];
    if (req.method === 'POST' && !name) return this.insert(zone, req.body as Record<string, unknown>);
    const key = `${zone}/${name}`;
    const found = this.instances.get(key);
    if (req.method === 'GET') return found ? ok(this.render(found)) : err(404, 'notFound', `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' was not found`);
    if (req.method === 'DELETE') {
      if (!found) return err(404, 'notFound', `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' was not found`);
      this.instances.delete(key);
      return ok(this.op(zone, 'RUNNING'));
    }
    return err(405, 'badRequest', `${req.method} not allowed`);
  };

  private insert(zone: string, body: Record<string, unknown>): GceResponse {
    const name = String(body.name);
    if (this.instances.has(`${zone}/${name}`)) return err(409, 'alreadyExists', `The resource 'projects/${this.project}/zones/${zone}/instances/${name}' already exists`);
    const type = String(body.machineType).split('/').pop()!;
    if (this.missingTypes.get(zone)?.has(type)) {
      return err(400, 'invalid', `Invalid value for field 'resource.machineType': 'zones/${zone}/machineTypes/${type}'. Machine type with name '${type}' does not exist in zone '${zone}'.`);
    }
    const failure = this.zoneErrors.get(zone);
    if (failure) return ok(this.op(zone, 'RUNNING', failure));
    if (this.insertStatus === 'GONE') return ok(this.op(zone, 'RUNNING'));
    this.instances.set(`${zone}/${name}`, {
      name,
      zone,
      status: this.insertStatus,
      machineType: String(body.machineType).split('/').pop()!,
      labels: (body.labels ?? {}) as Record<string, string>,
      networkInterfaces: [{ networkIP: `10.0.0.${this.instances.size + 2}` }],
      body,
    });
    return ok(this.op(zone, 'RUNNING'));
  }

  /** An operation as insert/delete return it (RUNNING); `wait` answers it DONE, with the error if any. */
  private op(zone: string, status: string, error?: OpError): Record<string, unknown> {
    const name = `operation-${++this.seq}`;
    this.ops.set(name, { name, zone: `https://www.googleapis.com/compute/v1/projects/${this.project}/zones/${zone}`, status: 'DONE', ...(error ? { error: { errors: [error] }, httpErrorStatusCode: 503 } : {}) });
    return { name, status };
  }

  private render(i: FakeInstance): Record<string, unknown> {
    return {
      name: i.name,
      zone: `https://www.googleapis.com/compute/v1/projects/${this.project}/zones/${i.zone}`,
      status: i.status,
      machineType: `https://www.googleapis.com/compute/v1/projects/${this.project}/zones/${i.zone}/machineTypes/${i.machineType}`,
      labels: i.labels,
      networkInterfaces: i.networkInterfaces,
    };
  }

  private aggregated(q: URLSearchParams): GceResponse {
    // `labels.k = "v"` or `labels.k = v`, joined by AND (what the provider sends; the API accepts both).
    const clauses = [...(q.get('filter') ?? '').matchAll(/labels\.([a-z0-9_-]+)\s*=\s*(?:"([^"]*)"|([^\s)]+))/g)].map((m) => [m[1]!, m[2] ?? m[3]!] as const);
    const matching = [...this.instances.values()].filter((i) => clauses.every(([k, v]) => i.labels[k] === v)).sort((a, b) => a.name.localeCompare(b.name));
    const start = Number(q.get('pageToken') ?? 0);
    const page = matching.slice(start, start + this.pageSize);
    const items: Record<string, { instances?: unknown[]; warning?: unknown }> = {};
    for (const i of page) (items[`zones/${i.zone}`] ??= { instances: [] }).instances!.push(this.render(i));
    // GCE lists scopes without instances too, with a warning instead of a list.
    items['zones/asia-east1-a'] = { warning: { code: 'NO_RESULTS_ON_PAGE' } };
    return ok({
      kind: 'compute#instanceAggregatedList',
      items,
      ...(start + this.pageSize < matching.length ? { nextPageToken: String(start + this.pageSize) } : {}),
      ...(this.unreachables.length ? { unreachables: this.unreachables.map((z) => `zones/${z}`) } : {}),
    });
  }
}

function ok(data: unknown): GceResponse {
  return { status: 200, data };
}

function err(status: number, reason: string, message: string): GceResponse {
  return { status, data: { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } } };
}
