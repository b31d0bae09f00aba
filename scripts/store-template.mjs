// Part of `npm run build`: makes the embedded store's template (src/store/template.ts) into
// dist/store-template — a database created and migrated once, so a new DATA_DIR starts from it
// in about a second instead of running initdb in the bot. Skipped when the one there fits this
// PGlite and exactly these migrations.

import { MIGRATIONS, MIGRATIONS_TABLE } from '../dist/store/migrations.js';
import { ensureTemplate, findTemplate, templateDirs } from '../dist/store/template.js';

const [shipped] = templateDirs();
if (!findTemplate([shipped], MIGRATIONS, true)) {
  const started = Date.now();
  await ensureTemplate(MIGRATIONS, MIGRATIONS_TABLE, [shipped], true);
  process.stdout.write(`dmp-bot: made the embedded store's template in ${Date.now() - started} ms (${shipped})\n`);
}
