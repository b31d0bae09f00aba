// The runbook registry: one module per procedure. /dmp help, the console and the docs are
// generated from this list, so adding a procedure is adding one file and one line here.
import { health } from './health.js';
import { scansStuck } from './scans-stuck.js';
import type { Procedure } from './types.js';

export const PROCEDURES: Procedure[] = [health, scansStuck];

export function findProcedure(id: string): Procedure | undefined {
  return PROCEDURES.find((p) => p.id === id);
}
