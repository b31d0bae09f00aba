// The remediations registry: every runbook resolution and maintenance step the bot can carry
// out, by the id the diagnosis replies' `remedy:<id>` buttons carry.
import { clearCache } from './clear-cache.js';
import { createIndex, reindex, vacuumAnalyze } from './db-maintenance.js';
import { flushCache } from './flush-cache.js';
import { markScanFailed } from './mark-scan-failed.js';
import { restartDeployment } from './restart-deployment.js';
import { rollbackDeployment } from './rollback-deployment.js';
import { rotateLogs } from './rotate-logs.js';
import { scaleDeployment } from './scale-deployment.js';
import { terminateQueries } from './terminate-queries.js';
import type { AnyRemediation } from './types.js';

export const REMEDIATIONS: AnyRemediation[] = [
  scaleDeployment,
  restartDeployment,
  rollbackDeployment,
  markScanFailed,
  terminateQueries,
  createIndex,
  reindex,
  vacuumAnalyze,
  clearCache,
  flushCache,
  rotateLogs,
];

export function findRemediation(id: string): AnyRemediation | undefined {
  return REMEDIATIONS.find((r) => r.id === id);
}
