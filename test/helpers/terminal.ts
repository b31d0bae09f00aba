// A person at a terminal: util-linux `script` gives the console a pseudo-terminal, so readline
// runs in terminal mode exactly as it does for a user; the test types keys and reads the screen.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Keys as a terminal sends them. */
export const KEY = { up: '\x1b[A', tab: '\t', enter: '\r', ctrlC: '\x03', ctrlD: '\x04' } as const;

// CSI sequences (colours, cursor moves, erase) and carriage returns, so the text can be matched.
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r/g;

export class Terminal {
  raw = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(env: NodeJS.ProcessEnv, command = 'node dist/main.js') {
    this.child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: ROOT,
      env: { TERM: 'xterm', COLUMNS: '120', LINES: '40', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const collect = (d: Buffer) => {
      this.raw += d.toString();
    };
    this.child.stdout.on('data', collect);
    this.child.stderr.on('data', collect);
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** The screen's text so far, escape sequences removed. */
  get text(): string {
    return this.raw.replace(ANSI, '');
  }

  /** Where the next output starts. */
  mark(): number {
    return this.text.length;
  }

  keys(...keys: string[]): void {
    this.child.stdin.write(keys.join(''));
  }

  /** Waits until the text after `from` matches (a generous wait: the machine is shared). */
  async sees(pattern: RegExp, from = 0, ms = 90_000): Promise<RegExpExecArray> {
    const started = Date.now();
    while (Date.now() - started < ms) {
      const m = pattern.exec(this.text.slice(from));
      if (m) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`never saw ${pattern}; the terminal showed:\n${this.text.slice(from).slice(-3_000)}`);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}
