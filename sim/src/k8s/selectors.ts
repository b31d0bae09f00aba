/** Label and field selectors: parsing the query strings and matching objects against them. */
import { badRequest } from './errors.js';
import { isObj } from './json.js';
import type { LabelSelector, Labels, Resource } from './objects.js';

export interface Requirement {
  key: string;
  op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists';
  values: string[];
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';

export function parseLabelSelector(text: string | undefined): Requirement[] {
  if (!text?.trim()) return [];
  return splitTopLevel(text).map((term) => {
    let m = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`).exec(term);
    if (m?.[1] && m[2] && m[3] !== undefined) {
      const values = m[3]
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      return { key: m[1], op: m[2] === 'in' ? 'in' : 'notin', values };
    }
    m = new RegExp(`^!\\s*(${KEY})$`).exec(term);
    if (m?.[1]) return { key: m[1], op: 'notexists', values: [] };
    m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*([-A-Za-z0-9_.]*)$`).exec(term);
    if (m?.[1] && m[2] && m[3] !== undefined) return { key: m[1], op: m[2] === '!=' ? 'neq' : 'eq', values: [m[3]] };
    m = new RegExp(`^(${KEY})$`).exec(term);
    if (m?.[1]) return { key: m[1], op: 'exists', values: [] };
    throw badRequest(`unable to parse requirement: <nil>: Invalid value: "${term}": invalid label selector`);
  });
}

export function matchesRequirements(labels: Labels | undefined, reqs: Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every(({ key, op, values }) => {
    const has = Object.hasOwn(l, key);
    const v = l[key];
    switch (op) {
      case 'eq':
        return has && v === values[0];
      case 'neq':
        return !has || v !== values[0];
      case 'in':
        return has && values.includes(v ?? '');
      case 'notin':
        return !has || !values.includes(v ?? '');
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
    return false;
  });
}

export function selectorMatches(selector: LabelSelector, labels: Labels | undefined): boolean {
  const reqs: Requirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({
    key,
    op: 'eq',
    values: [value],
  }));
  for (const e of selector.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: 'notexists' } as const)[
      e.operator as 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'
    ];
    if (op) reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return matchesRequirements(labels, reqs);
}

/** `app=api,tier=web`, as `kubectl get` and the Scale subresource print a selector. */
export function formatSelector(selector: LabelSelector): string {
  return Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}

const FIELDS: Record<Resource, string[]> = {
  pods: ['metadata.name', 'metadata.namespace', 'status.phase', 'spec.nodeName', 'spec.restartPolicy'],
  secrets: ['metadata.name', 'metadata.namespace', 'type'],
  deployments: ['metadata.name', 'metadata.namespace'],
  replicasets: ['metadata.name', 'metadata.namespace', 'status.replicas'],
};

export function parseFieldSelector(text: string | undefined, resource: Resource): FieldRequirement[] {
  if (!text?.trim()) return [];
  return splitTopLevel(text).map((term) => {
    const m = /^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m?.[1] || !m[2] || m[3] === undefined)
      throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    if (!FIELDS[resource].includes(m[1])) {
      throw badRequest(`field label not supported: ${m[1]}`);
    }
    return { field: m[1], negate: m[2] === '!=', value: m[3] };
  });
}

function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) cur = isObj(cur) ? cur[part] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchesFields(obj: unknown, reqs: FieldRequirement[]): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) !== r.negate);
}
