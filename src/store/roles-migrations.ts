// The incident roles' columns (migration ids 400–409): who is commander and comms lead now. The
// history of who held which role when is the timeline's `role` entries.
import type { Migration } from './migration.js';

export const ROLES_MIGRATIONS: Migration[] = [
  {
    id: 400,
    name: 'roles: incident commander and comms lead',
    sql: `
      ALTER TABLE incidents ADD COLUMN commander jsonb;
      ALTER TABLE incidents ADD COLUMN comms jsonb;
    `,
  },
];
