// Runbook: Useful Commands › Database Queries, "Find large tenants": the ten tenants with the
// most repositories.
import type { Check, Finding, Procedure } from './types.js';

const largest: Check = {
  id: 'tenants',
  title: 'Largest tenants',
  async run({ targets }): Promise<Finding> {
    const rows = await targets.db.query<{ tenant_id: string; count: number }>(
      `SELECT tenant_id, COUNT(*)::int AS count FROM repositories GROUP BY tenant_id ORDER BY count DESC, tenant_id LIMIT 10`,
    );
    const top = rows[0];
    return {
      check: this.title,
      status: 'ok',
      summary: top
        ? `${rows.length === 10 ? 'the top 10' : `all ${rows.length}`} by repositories; the largest ${top.tenant_id} with ${top.count}`
        : 'no repositories',
      details: rows.map((r, i) => `${i + 1}. ${r.tenant_id}  ${r.count} repositories`),
    };
  },
};

export const tenantsTop: Procedure = {
  id: 'tenants-top',
  words: ['tenants', 'top'],
  title: 'Largest tenants',
  section: 'Useful Commands › Database Queries (find large tenants)',
  group: 'Diagnosis',
  summary: 'the ten tenants with the most repositories',
  dashboard: '/grafana/d/business',
  checks: [largest],
  remedies: [],
};
