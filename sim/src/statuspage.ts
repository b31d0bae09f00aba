// Atlassian Statuspage's authenticated REST API v1, at the wire level: incidents created and
// patched on a page, the components they name moved to the status they give. It checks what
// the real service checks: `Authorization: OAuth <key>` (401 without a known key), the page id
// and the incident id (404), the component ids and the status words (422), and its rate limit
// of one request a second per key (429 with Retry-After). The sandbox lists its incidents.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FakeHttpServer, headerRecord, json, parseJson, splitUrl, startHttpServer } from './http-server.js';

export const INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved', 'postmortem'] as const;
export const COMPONENT_STATUSES = [
  'operational',
  'under_maintenance',
  'degraded_performance',
  'partial_outage',
  'major_outage',
] as const;
export const IMPACTS = ['none', 'minor', 'major', 'critical'] as const;

export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
export type ComponentStatus = (typeof COMPONENT_STATUSES)[number];
export type Impact = (typeof IMPACTS)[number];

export interface SpComponent {
  id: string;
  name: string;
  status: ComponentStatus;
}

export interface SpIncidentUpdate {
  id: string;
  status: IncidentStatus;
  body: string;
  created_at: string;
  affected_components: Array<{ code: string; name: string; old_status: ComponentStatus; new_status: ComponentStatus }>;
}

export interface SpIncident {
  id: string;
  page_id: string;
  name: string;
  status: IncidentStatus;
  impact: Impact;
  shortlink: string;
  created_at: string;
  updated_at: string;
  monitoring_at: string | null;
  resolved_at: string | null;
  component_ids: string[];
  incident_updates: SpIncidentUpdate[];
}

export interface SpRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  /** The answer given. */
  status: number;
}

export interface StatuspageFakeOptions {
  apiKey: string;
  pageId: string;
  /** The page's components: id → name. */
  components: Record<string, string>;
  /** Requests a second per key; 1 like Statuspage. Tests of the pace keep it; others may raise it. */
  ratePerSecond?: number;
  now?: () => Date;
  port?: number;
}

export interface StatuspageFake {
  /** The API base, with its `/v1/` and a trailing slash, as STATUSPAGE_API_URL takes it. */
  readonly apiUrl: string;
  readonly http: FakeHttpServer;
  readonly requests: SpRequest[];
  readonly incidents: Map<string, SpIncident>;
  readonly components: Map<string, SpComponent>;
  /** Answer the next `n` requests with 429, as a key over its limit would see. */
  rateLimitNext(n: number, retryAfterSec?: number): void;
  close(): Promise<void>;
}

const RANK: Record<ComponentStatus, number> = {
  operational: 0,
  under_maintenance: 1,
  degraded_performance: 2,
  partial_outage: 3,
  major_outage: 4,
};
const IMPACT_OF: Record<ComponentStatus, Impact> = {
  operational: 'none',
  under_maintenance: 'none',
  degraded_performance: 'minor',
  partial_outage: 'major',
  major_outage: 'critical',
};

class SpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(String(status));
  }
}

const notFound = () => new SpError(404, { error: 'The requested resource could not be found.' });
const unprocessable = (message: string) => new SpError(422, { error: [message] });

export async function startStatuspageFake(opts: StatuspageFakeOptions): Promise<StatuspageFake> {
  const now = opts.now ?? (() => new Date());
  const rate = opts.ratePerSecond ?? 1;
  const requests: SpRequest[] = [];
  const incidents = new Map<string, SpIncident>();
  const components = new Map<string, SpComponent>(
    Object.entries(opts.components).map(([id, name]) => [id, { id, name, status: 'operational' }]),
  );
  // The window each key last called in, for the limit of `rate` a second.
  const lastWindow = new Map<string, number>();
  let forced = { n: 0, retryAfter: 1 };
  let seq = 0;
  const newId = () => `sp${(++seq).toString(36).padStart(4, '0')}${Math.random().toString(36).slice(2, 8)}`;

  const field = <T extends readonly string[]>(value: unknown, allowed: T, name: string): T[number] | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !allowed.includes(value))
      throw unprocessable(`${name} is not included in the list`);
    return value as T[number];
  };

  /** Validates `component_ids` and `components` and applies the statuses; returns the affected list. */
  const applyComponents = (body: Record<string, unknown>, inc: SpIncident): SpIncidentUpdate['affected_components'] => {
    const ids = body.component_ids;
    if (ids !== undefined) {
      if (!Array.isArray(ids) || ids.some((c) => typeof c !== 'string'))
        throw unprocessable('component_ids must be an array of ids');
      for (const id of ids) if (!components.has(id)) throw unprocessable(`Component ${id} could not be found`);
      inc.component_ids = [...new Set([...inc.component_ids, ...(ids as string[])])];
    }
    const map = body.components;
    const affected: SpIncidentUpdate['affected_components'] = [];
    if (map !== undefined) {
      if (!map || typeof map !== 'object' || Array.isArray(map)) throw unprocessable('components must be an object');
      const planned: Array<[SpComponent, ComponentStatus]> = [];
      for (const [id, status] of Object.entries(map as Record<string, unknown>)) {
        const c = components.get(id);
        if (!c) throw unprocessable(`Component ${id} could not be found`);
        planned.push([c, field(status, COMPONENT_STATUSES, 'component status') as ComponentStatus]);
      }
      for (const [c, status] of planned) {
        if (c.status !== status) affected.push({ code: c.id, name: c.name, old_status: c.status, new_status: status });
        c.status = status;
        if (!inc.component_ids.includes(c.id)) inc.component_ids.push(c.id);
      }
    }
    return affected;
  };

  const impactOf = (inc: SpIncident, override: unknown): Impact => {
    const o = field(override, IMPACTS, 'impact_override');
    if (o) return o;
    const worst = inc.component_ids
      .map((id) => components.get(id)?.status ?? 'operational')
      .reduce<ComponentStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'operational');
    return IMPACT_OF[worst];
  };

  const incidentBody = (body: unknown): Record<string, unknown> => {
    const inc = (body as { incident?: unknown } | undefined)?.incident;
    if (!inc || typeof inc !== 'object' || Array.isArray(inc)) throw new SpError(400, { error: 'incident is missing' });
    return inc as Record<string, unknown>;
  };

  const addUpdate = (inc: SpIncident, body: string, affected: SpIncidentUpdate['affected_components']) => {
    const at = now().toISOString();
    inc.incident_updates.unshift({
      id: newId(),
      status: inc.status,
      body,
      created_at: at,
      affected_components: affected,
    });
    inc.updated_at = at;
    if (inc.status === 'monitoring') inc.monitoring_at ??= at;
    if (inc.status === 'resolved') inc.resolved_at ??= at;
  };

  const wire = (inc: SpIncident) => ({
    ...inc,
    components: inc.component_ids.map((id) => components.get(id)).filter(Boolean),
  });

  const route = (method: string, path: string, body: unknown): [number, unknown] => {
    const m = /^\/v1\/pages\/([^/]+)(\/.*)?$/.exec(path);
    if (!m || m[1] !== opts.pageId) throw notFound();
    const rest = m[2] ?? '';
    if (rest === '/components' && method === 'GET') return [200, [...components.values()]];
    if (rest === '/incidents' && method === 'GET') return [200, [...incidents.values()].reverse().map(wire)];
    if (rest === '/incidents' && method === 'POST') {
      const b = incidentBody(body);
      if (typeof b.name !== 'string' || !b.name.trim()) throw unprocessable("Name can't be blank");
      const status = field(b.status, INCIDENT_STATUSES, 'status') ?? 'investigating';
      const at = now().toISOString();
      const id = newId();
      const inc: SpIncident = {
        id,
        page_id: opts.pageId,
        name: b.name,
        status,
        impact: 'none',
        shortlink: `https://stspg.io/${id}`,
        created_at: at,
        updated_at: at,
        monitoring_at: null,
        resolved_at: null,
        component_ids: [],
        incident_updates: [],
      };
      const affected = applyComponents(b, inc);
      inc.impact = impactOf(inc, b.impact_override);
      addUpdate(inc, typeof b.body === 'string' ? b.body : '', affected);
      incidents.set(id, inc);
      return [201, wire(inc)];
    }
    const one = /^\/incidents\/([^/]+)$/.exec(rest);
    if (one) {
      const inc = incidents.get(one[1] ?? '');
      if (!inc) throw notFound();
      if (method === 'GET') return [200, wire(inc)];
      if (method === 'PATCH' || method === 'PUT') {
        const b = incidentBody(body);
        const status = field(b.status, INCIDENT_STATUSES, 'status');
        // Validate before changing anything: a refused patch leaves the incident as it was.
        const copy: SpIncident = structuredClone(inc);
        if (typeof b.name === 'string' && b.name.trim()) copy.name = b.name;
        if (status) copy.status = status;
        const affected = applyComponents(b, copy);
        copy.impact = impactOf(copy, b.impact_override);
        if (status || typeof b.body === 'string') addUpdate(copy, typeof b.body === 'string' ? b.body : '', affected);
        Object.assign(inc, copy);
        return [200, wire(inc)];
      }
    }
    throw notFound();
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    const { path } = splitUrl(req);
    const headers = headerRecord(req);
    const method = req.method ?? 'GET';
    const body = parseJson(raw);
    const answer = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
      requests.push({ method, path, headers, body, status });
      json(res, status, payload, extra);
    };
    const key = /^OAuth (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (key !== opts.apiKey) {
      answer(401, { error: 'Could not authenticate' });
      return;
    }
    if (forced.n > 0) {
      forced.n -= 1;
      answer(429, { error: 'Rate limit exceeded' }, { 'retry-after': String(forced.retryAfter) });
      return;
    }
    // A fixed window per key: `rate` requests in each second (at 1 a second, one per whole second).
    const window = Math.floor((now().getTime() * rate) / 1000);
    if (lastWindow.get(key) === window) {
      answer(429, { error: 'Rate limit exceeded' }, { 'retry-after': '1' });
      return;
    }
    lastWindow.set(key, window);
    if (raw.length > 0 && body === undefined) {
      answer(400, { error: 'Request body is not valid JSON' });
      return;
    }
    try {
      const [status, payload] = route(method, path, body);
      answer(status, payload);
    } catch (err) {
      if (!(err instanceof SpError)) throw err;
      answer(err.status, err.body);
    }
  };

  const http = await startHttpServer(handle, opts.port === undefined ? {} : { port: opts.port });
  return {
    apiUrl: `${http.url}/v1/`,
    http,
    requests,
    incidents,
    components,
    rateLimitNext(n, retryAfterSec = 1) {
      forced = { n, retryAfter: retryAfterSec };
    },
    close: () => http.close(),
  };
}
