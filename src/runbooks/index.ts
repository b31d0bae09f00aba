// The runbook registry: one module per procedure. /dmp help, the console and the docs are
// generated from this list, so adding a procedure is adding one file and one line here.
import { authFailures } from './auth-failures.js';
import { cacheStats } from './cache-stats.js';
import { contacts } from './contacts.js';
import { dashboards } from './dashboards.js';
import { dbConnections } from './db-connections.js';
import { dbLocks } from './db-locks.js';
import { dbReplication } from './db-replication.js';
import { dbSlow } from './db-slow.js';
import { graphTimeout } from './graph-timeout.js';
import { health } from './health.js';
import { logs } from './logs.js';
import { maintenance } from './maintenance.js';
import { pods } from './pods.js';
import { queue } from './queue.js';
import { rolloutHistory } from './rollout-history.js';
import { scansByStatus } from './scans-by-status.js';
import { scansStuck } from './scans-stuck.js';
import { severity } from './severity.js';
import { tenantsTop } from './tenants-top.js';
import type { Procedure } from './types.js';
import { webhooks } from './webhooks.js';
import { workers } from './workers.js';

export const PROCEDURES: Procedure[] = [
  health,
  scansStuck,
  queue,
  workers,
  dbConnections,
  dbReplication,
  dbSlow,
  dbLocks,
  cacheStats,
  authFailures,
  graphTimeout,
  webhooks,
  pods,
  logs,
  rolloutHistory,
  scansByStatus,
  tenantsTop,
  maintenance,
  severity,
  dashboards,
  contacts,
];

export function findProcedure(id: string): Procedure | undefined {
  return PROCEDURES.find((p) => p.id === id);
}
