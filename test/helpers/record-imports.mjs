// `node --import ./test/helpers/record-imports.mjs …`: appends the URL of every module the ESM
// loader resolves to the file named by IMPORTS_LOG, so a test can say what a start loaded.
import { register } from 'node:module';

register('./record-imports-hooks.mjs', import.meta.url, { data: { file: process.env.IMPORTS_LOG } });
