// Runbook: Monitoring Dashboards: the runbook's table, linked under GRAFANA_URL when it is set.
import { link } from '../domain/text.js';
import type { Check, Finding, Procedure } from './types.js';

export const DASHBOARDS = [
  { name: 'Service Health', purpose: 'Overall system status', path: '/grafana/d/health' },
  { name: 'API Metrics', purpose: 'Request rates, latency', path: '/grafana/d/api' },
  { name: 'Database', purpose: 'Queries, connections', path: '/grafana/d/db' },
  { name: 'Queue', purpose: 'Job processing rates', path: '/grafana/d/queue' },
  { name: 'Business', purpose: 'Scans, users, repos', path: '/grafana/d/business' },
] as const;

/** The runbook's paths start with /grafana; a GRAFANA_URL that already ends there is not doubled. */
export function grafanaLink(grafanaUrl: string, path: string): string {
  const base = grafanaUrl.replace(/\/+$/, '');
  return path.startsWith('/grafana') && base.endsWith('/grafana')
    ? `${base}${path.slice('/grafana'.length)}`
    : `${base}${path}`;
}

const table: Check = {
  id: 'dashboards',
  title: 'Dashboards',
  async run({ targets }): Promise<Finding[]> {
    const base = targets.config.GRAFANA_URL;
    const rows: Finding[] = DASHBOARDS.map((d) => {
      if (!base) return { check: d.name, status: 'ok', summary: `${d.purpose}: ${d.path}` };
      return { check: d.name, status: 'ok', summary: [`${d.purpose}: `, link(grafanaLink(base, d.path))] };
    });
    if (!base)
      rows.unshift({ check: 'Grafana', status: 'unknown', summary: 'not configured — set GRAFANA_URL to get links' });
    return rows;
  },
};

export const dashboards: Procedure = {
  id: 'dashboards',
  words: ['dashboards'],
  title: 'Monitoring dashboards',
  section: 'Monitoring Dashboards',
  group: 'Reference',
  summary: 'the Grafana dashboards and what each shows, linked under GRAFANA_URL',
  checks: [table],
  remedies: [],
};
