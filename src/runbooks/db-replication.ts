// Runbook: Health Checks › Database Health, "Check replication lag": on a replica how far
// replay trails (pg_last_wal_replay_lsn), on a primary its streaming replicas and slots.
import { formatDuration } from '../duration.js';
import { plural } from './lines.js';
import type { Check, Finding, Procedure, Status } from './types.js';

export const LAG_WARN_S = 30;
export const LAG_CRITICAL_S = 300;
const LAG_WARN_BYTES = 64 * 1024 * 1024;

interface RoleRow {
  replica: boolean;
  receive_lsn: string | null;
  replay_lsn: string | null;
  replay_at: Date | null;
  lag_s: number | null;
  bytes_behind: string | null;
  receiver: string | null;
}

interface StandbyRow {
  application_name: string | null;
  client_addr: string | null;
  state: string | null;
  sync_state: string | null;
  replay_lsn: string | null;
  bytes_behind: string | null;
  replay_lag_s: number | null;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

function lagStatus(seconds: number, behind: number): Status {
  if (seconds > LAG_CRITICAL_S) return 'critical';
  return seconds > LAG_WARN_S || behind > LAG_WARN_BYTES ? 'warn' : 'ok';
}

const replication: Check = {
  id: 'replication',
  title: 'Replication',
  async run({ targets }): Promise<Finding[]> {
    const [role] = await targets.db.query<RoleRow>(
      `SELECT pg_is_in_recovery() AS replica,
              CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()::text END AS receive_lsn,
              CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS replay_lsn,
              CASE WHEN pg_is_in_recovery() THEN pg_last_xact_replay_timestamp() END AS replay_at,
              CASE WHEN pg_is_in_recovery() THEN EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag_s,
              CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text END AS bytes_behind,
              CASE WHEN pg_is_in_recovery() THEN (SELECT status FROM pg_stat_wal_receiver LIMIT 1) END AS receiver`,
    );
    if (role?.replica) {
      const behind = Number(role.bytes_behind ?? 0);
      const lag = role.lag_s;
      // With nothing written on the primary, the last replayed transaction ages although nothing is behind.
      const streaming = role.receiver === 'streaming';
      const status: Status =
        !streaming || lag === null ? 'warn' : behind === 0 && lag > LAG_WARN_S ? 'ok' : lagStatus(lag, behind);
      return [
        {
          check: this.title,
          status,
          summary:
            lag === null
              ? `replica; nothing replayed yet (replay LSN ${role.replay_lsn ?? 'none'})`
              : `replica (WAL receiver ${role.receiver ?? 'not running'}); last transaction replayed ${formatDuration(lag * 1000)} ago, ${bytes(behind)} received but not yet replayed`,
          details: [
            `pg_last_wal_receive_lsn ${role.receive_lsn ?? 'none'}`,
            `pg_last_wal_replay_lsn ${role.replay_lsn ?? 'none'}`,
            `pg_last_xact_replay_timestamp ${role.replay_at ? new Date(role.replay_at).toISOString() : 'none'}`,
          ],
          facts: { replica: true, lagSeconds: Math.round(lag ?? -1) },
        },
      ];
    }
    const standbys = await targets.db.query<StandbyRow>(
      `SELECT application_name, client_addr::text AS client_addr, state, sync_state, replay_lsn::text AS replay_lsn,
              pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS bytes_behind,
              EXTRACT(EPOCH FROM replay_lag)::float8 AS replay_lag_s
         FROM pg_stat_replication ORDER BY application_name`,
    );
    const slots = await targets.db.query<{ slot_name: string; active: boolean; retained: string | null }>(
      `SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text AS retained
         FROM pg_replication_slots ORDER BY slot_name`,
    );
    const findings: Finding[] = [];
    if (standbys.length === 0) {
      findings.push({
        check: this.title,
        status: 'ok',
        summary: 'primary; no replica is streaming from it',
        facts: { replica: false, standbys: 0 },
      });
    } else {
      const worstLag = Math.max(...standbys.map((s) => s.replay_lag_s ?? 0));
      const worstBytes = Math.max(...standbys.map((s) => Number(s.bytes_behind ?? 0)));
      findings.push({
        check: this.title,
        status: lagStatus(worstLag, worstBytes),
        summary: `primary streaming to ${plural(standbys.length, 'replica')}; the furthest behind by ${bytes(worstBytes)} (${formatDuration(worstLag * 1000)})`,
        details: standbys.map(
          (s) =>
            `${s.application_name || '(unnamed)'} ${s.client_addr ?? 'local'}  ${s.state ?? '?'} ${s.sync_state ?? ''}  replay ${s.replay_lsn ?? 'none'}, ${bytes(Number(s.bytes_behind ?? 0))} behind${s.replay_lag_s !== null ? `, replay lag ${formatDuration(s.replay_lag_s * 1000)}` : ''}`,
        ),
        facts: { replica: false, standbys: standbys.length },
      });
    }
    const idle = slots.filter((s) => !s.active);
    if (slots.length) {
      findings.push({
        check: 'Replication slots',
        status: idle.some((s) => Number(s.retained ?? 0) > LAG_WARN_BYTES) ? 'warn' : 'ok',
        summary: `${plural(slots.length, 'slot')}, ${idle.length} inactive${idle.length ? ` (${idle.map((s) => s.slot_name).join(', ')}): inactive slots keep WAL on disk` : ''}`,
        details: slots.map(
          (s) => `${s.slot_name}  ${s.active ? 'active' : 'inactive'}  retains ${bytes(Number(s.retained ?? 0))}`,
        ),
      });
    }
    return findings;
  },
};

export const dbReplication: Procedure = {
  id: 'db-replication',
  words: ['db', 'replication'],
  title: 'Database replication',
  section: 'Health Checks › Database Health (replication lag)',
  group: 'Health',
  summary: 'replica replay lag (pg_last_wal_replay_lsn), or a primary’s streaming replicas and slots',
  dashboard: '/grafana/d/db',
  checks: [replication],
  remedies: [],
};
