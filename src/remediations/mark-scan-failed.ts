// Runbook: Scans Stuck in Pending › Resolution 3 — mark one stuck scan failed with
// "Timeout - manual intervention", only while it is still pending or running. The scan ID is
// a UUID checked at the edge and passed as a parameter; the UPDATE is never built from text.
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { UserError } from '../errors.js';
import type { ActionContext } from './types.js';
import { defineRemediation } from './types.js';

export const SCAN_ID = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    'must be a scan ID (a UUID such as 6f1c1b7e-0000-4000-8000-000000000001)',
  );

export const FAILED_MESSAGE = 'Timeout - manual intervention';
const MARKABLE = ['pending', 'running'];

export interface ScanInfo {
  id: string;
  status: string;
  repository?: string;
  createdAt: Date;
  updatedAt: Date;
  errorMessage?: string;
}

/** What the mark-scan-failed modal shows when it opens: the scan, when it could be looked up in time. */
export interface ScanShown {
  scanId?: string;
  /** Set when the scan was found: its lines, and why it cannot be marked, if it cannot. */
  found?: { id: string; lines: string[]; notMarkable?: string };
}

/** The scan as the operator should see it before changing it; undefined when there is none. */
export async function lookupScan(
  ctx: Pick<ActionContext, 'targets'>,
  id: string,
  timeoutMs = 2_000,
): Promise<ScanInfo | undefined> {
  const rows = await ctx.targets.db.query<{
    id: string;
    status: string;
    name: string | null;
    created_at: Date;
    updated_at: Date;
    error_message: string | null;
  }>(
    `SELECT s.id, s.status, r.name, s.created_at, s.updated_at, s.error_message
       FROM scans s LEFT JOIN repositories r ON r.id = s.repository_id
      WHERE s.id = $1`,
    [id],
    { timeoutMs },
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: r.id,
    status: r.status,
    repository: r.name ?? undefined,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    errorMessage: r.error_message ?? undefined,
  };
}

export function describeScan(s: ScanInfo, now: Date): string[] {
  return [
    `scan ${s.id}`,
    `repository: ${s.repository ?? '(none)'}`,
    `status: ${s.status} (created ${formatDuration(now.getTime() - s.createdAt.getTime())} ago, updated ${formatDuration(now.getTime() - s.updatedAt.getTime())} ago)`,
    ...(s.errorMessage ? [`error message: ${s.errorMessage}`] : []),
  ];
}

/** The one line that says what marking it failed changes. */
export function markSummary(s: ScanInfo): string {
  return `scan ${s.id}: status ${s.status} → failed ("${FAILED_MESSAGE}")`;
}

export function isMarkable(s: ScanInfo): boolean {
  return MARKABLE.includes(s.status);
}

export const markScanFailed = defineRemediation({
  id: 'mark-scan-failed',
  title: 'Mark a scan failed',
  section: 'Common Issues › Scans Stuck in Pending › Resolution 3',
  risk: 'low',
  schema: z.object({ scanId: SCAN_ID }),
  riskKeys: () => ['mark-scan-failed'],
  label: (p) => `Mark scan ${p.scanId} failed`,
  async preview(ctx, p) {
    const scan = await lookupScan(ctx, p.scanId);
    if (!scan) throw new UserError(`There is no scan ${p.scanId}.`);
    const summary = markSummary(scan);
    const details = describeScan(scan, ctx.now());
    if (!isMarkable(scan))
      return {
        summary,
        details,
        nothingToDo: `Scan ${p.scanId} is ${scan.status}, not pending or running: nothing to mark.`,
      };
    return { summary, details };
  },
  async execute(ctx, p) {
    const rows = await ctx.targets.db.query<{ id: string }>(
      `UPDATE scans SET status = 'failed', error_message = $2, updated_at = now()
        WHERE id = $1 AND status IN ('pending', 'running')
        RETURNING id`,
      [p.scanId, FAILED_MESSAGE],
    );
    if (rows.length === 1) return { ok: true, summary: `scan ${p.scanId} marked failed ("${FAILED_MESSAGE}")` };
    const now = await lookupScan(ctx, p.scanId);
    return {
      ok: false,
      summary: now
        ? `scan ${p.scanId} is ${now.status}, no longer pending or running: nothing changed`
        : `there is no scan ${p.scanId}: nothing changed`,
    };
  },
});
