// Who runs each `running` remediation: the replica that moved it there stamps a heartbeat on
// its rows; a row whose heartbeat stopped (its process died) or that was handed over on
// SIGTERM is claimed, in one atomic UPDATE, by exactly one other replica. Times are the
// database's own, so replicas' clocks need not agree.
import { type ActionRow, type DbRow, fromDb } from './remediations.js';
import type { Sql } from './sql.js';

/** Renews the heartbeat of every running action this replica owns. */
export async function beatFor(sql: Pick<Sql, 'query'>, owner: string): Promise<void> {
  await sql.query(`UPDATE remediation_actions SET heartbeat_at = now() WHERE state = 'running' AND owner = $1`, [
    owner,
  ]);
}

/**
 * Takes over running actions whose owner has not beaten for `staleMs` (or that were handed
 * over, or predate owners): each comes back to one caller only.
 */
export async function claimOrphans(sql: Pick<Sql, 'query'>, owner: string, staleMs: number): Promise<ActionRow[]> {
  const rows = await sql.query<DbRow>(
    `UPDATE remediation_actions SET owner = $1, heartbeat_at = now()
      WHERE id IN (
        SELECT id FROM remediation_actions
         WHERE state = 'running'
           AND owner IS DISTINCT FROM $1
           AND COALESCE(heartbeat_at, updated_at) < now() - make_interval(secs => $2::double precision / 1000)
         ORDER BY updated_at
         LIMIT 20
         FOR UPDATE SKIP LOCKED)
        AND state = 'running'
      RETURNING *`,
    [owner, staleMs],
  );
  return rows.map(fromDb);
}

/** On shutdown: gives up this replica's running actions so the next replica claims them at once. */
export async function handOver(sql: Pick<Sql, 'query'>, owner: string): Promise<number> {
  const rows = await sql.query(
    `UPDATE remediation_actions SET owner = NULL, heartbeat_at = '-infinity'
      WHERE state = 'running' AND owner = $1 RETURNING id`,
    [owner],
  );
  return rows.length;
}
