// The console at a real (pseudo-)terminal: history kept between sessions, Tab completion from
// the command registry, Ctrl-C once clears the line and twice leaves with a word.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KEY, Terminal } from '../helpers/terminal.js';

const dataDir = mkdtempSync(join(tmpdir(), 'dmp-terminal-'));
const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0' };
const PROMPT = /dmp> $/;
let term: Terminal | undefined;

afterEach(() => term?.kill());
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('console at a terminal', { timeout: 180_000 }, () => {
  it('completes command words with Tab and recalls the last command with the up arrow', async () => {
    term = new Terminal(env);
    await term.sees(PROMPT);
    let at = term.mark();
    term.keys('/dmp hea', KEY.tab);
    await term.sees(/\/dmp health $/, at);
    term.keys(KEY.enter);
    await term.sees(/Platform health[\s\S]*dmp> $/, at);

    at = term.mark();
    term.keys(KEY.up);
    await term.sees(/\/dmp health$/, at);
    term.keys(KEY.enter);
    await term.sees(/Platform health[\s\S]*dmp> $/, at);

    at = term.mark();
    term.keys('/dmp scans s', KEY.tab);
    await term.sees(/\/dmp scans stuck $/, at);
    term.keys(KEY.ctrlC);
    term.keys('exit', KEY.enter);
    expect(await term.exited).toBe(0);
    expect(readFileSync(join(dataDir, 'console_history'), 'utf8').split('\n')).toContain('/dmp health');
  });

  it('keeps the history in DATA_DIR for the next session', async () => {
    term = new Terminal(env);
    await term.sees(PROMPT);
    const at = term.mark();
    term.keys(KEY.up);
    await term.sees(/dmp> exit$/, at);
    term.keys(KEY.up);
    await term.sees(/dmp> \/dmp health$/, at);
    term.keys(KEY.enter);
    await term.sees(/Platform health[\s\S]*dmp> $/, at);
    term.keys(KEY.ctrlD);
    expect(await term.exited).toBe(0);
  });

  it('clears the line on the first Ctrl-C and leaves with a word on the second', async () => {
    term = new Terminal(env);
    await term.sees(PROMPT);
    let at = term.mark();
    term.keys('/dmp scans stuck');
    await term.sees(/\/dmp scans stuck$/, at);
    term.keys(KEY.ctrlC);
    await term.sees(/Ctrl-C again leaves[\s\S]*dmp> $/, at);
    // The line was cleared: Enter now sends nothing and the console is still there.
    at = term.mark();
    term.keys(KEY.enter);
    await term.sees(PROMPT, at);
    expect(term.text.slice(at)).not.toContain('Stuck scans');
    at = term.mark();
    term.keys(KEY.ctrlC);
    await term.sees(/Ctrl-C again leaves/, at);
    term.keys(KEY.ctrlC);
    await term.sees(/Bye\./, at);
    expect(await term.exited).toBe(0);
  });

  it('says it is starting the embedded store and suggests the command for a missing slash or a prefix', async () => {
    term = new Terminal(env);
    await term.sees(/starting the embedded store[\s\S]*dmp> $/);
    let at = term.mark();
    term.keys('dmp health', KEY.enter);
    await term.sees(/did you mean `\/dmp health`\?/, at);
    at = term.mark();
    term.keys('/dmp sev', KEY.enter);
    const reply = await term.sees(/(I don't know[^\n]*)\n[\s\S]*dmp> $/, at);
    // The suggestion comes first and short; the full help is /dmp help's.
    expect(reply[1]).toContain('Did you mean `/dmp severity');
    expect(term.text.slice(at)).not.toContain('dmp-bot: the support runbook in Slack');
    term.keys('exit', KEY.enter);
    expect(await term.exited).toBe(0);
  });
});
