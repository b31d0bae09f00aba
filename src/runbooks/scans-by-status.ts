// Runbook: Useful Commands › Database Queries, "Count active scans": scans grouped by status.
import type { Check, Finding, Procedure } from './types.js';

const byStatus: Check = {
  id: 'status',
  title: 'Scans by status',
  async run({ targets }): Promise<Finding> {
    const rows = await targets.db.query<{ status: string; count: number; last_hour: number }>(
      `SELECT status, COUNT(*)::int AS count, (COUNT(*) FILTER (WHERE updated_at > now() - interval '1 hour'))::int AS last_hour
         FROM scans GROUP BY status ORDER BY count DESC, status`,
    );
    const total = rows.reduce((n, r) => n + r.count, 0);
    return {
      check: this.title,
      status: 'ok',
      summary: rows.length ? `${rows.map((r) => `${r.status} ${r.count}`).join(', ')} (${total} in all)` : 'no scans',
      details: rows.map((r) => `${r.status}  ${r.count}  (${r.last_hour} updated in the last hour)`),
      facts: Object.fromEntries(rows.map((r) => [r.status, r.count])),
    };
  },
};

export const scansByStatus: Procedure = {
  id: 'scans-by-status',
  words: ['scans', 'by-status'],
  title: 'Scans by status',
  section: 'Useful Commands › Database Queries (count active scans)',
  group: 'Diagnosis',
  summary: 'how many scans are in each status',
  dashboard: '/grafana/d/business',
  checks: [byStatus],
  remedies: [],
};
