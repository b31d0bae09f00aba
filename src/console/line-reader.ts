// The console's input. At a terminal: Node's readline in terminal mode, so arrows, line
// editing, history (kept in a file under DATA_DIR) and Tab completion work as in any good
// REPL; Ctrl-C once clears the line, twice leaves. From a pipe: plain lines, each echoed
// after its prompt so a transcript reads like the session it was.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type CompleterResult, clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

const HISTORY_SIZE = 500;

export interface LineReaderOptions {
  interactive: boolean;
  /** Where the command history lives between sessions (terminal only). */
  historyFile?: string;
  completer?: (line: string) => CompleterResult;
}

export interface AskOptions {
  /** Keep the answer out of the history (form fields, confirmations). */
  noHistory?: boolean;
}

/** Reads lines one at a time, whatever the input is; undefined at EOF or when the user leaves. */
export class LineReader {
  private queue: string[] = [];
  private waiting: ((line: string | undefined) => void) | undefined;
  private ended = false;
  private interrupts = 0;
  private readonly rl: Interface;
  readonly interactive: boolean;

  constructor(
    input: Readable,
    private readonly output: Writable,
    private readonly opts: LineReaderOptions,
  ) {
    this.interactive = opts.interactive;
    this.rl = opts.interactive
      ? createInterface({
          input,
          output,
          terminal: true,
          history: readHistory(opts.historyFile),
          historySize: HISTORY_SIZE,
          removeHistoryDuplicates: true,
          ...(opts.completer ? { completer: opts.completer } : {}),
        })
      : createInterface({ input, terminal: false, crlfDelay: Number.POSITIVE_INFINITY });
    this.rl.on('line', (line) => {
      this.interrupts = 0;
      // Tab completion leaves a trailing space: recall the command without it.
      const h = this.history();
      if (h?.[0] !== undefined && h[0] !== h[0].trim()) h[0] = h[0].trim();
      this.deliver(line);
    });
    this.rl.on('close', () => {
      this.ended = true;
      this.deliver(undefined);
    });
    if (opts.interactive) {
      this.rl.on('history', (history: string[]) => saveHistory(opts.historyFile, history));
      this.rl.on('SIGINT', () => this.interrupt());
    }
  }

  private deliver(line: string | undefined): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(line);
    } else if (line !== undefined) this.queue.push(line);
  }

  /** Ctrl-C: the first clears the line; a second in a row leaves, saying so. */
  private interrupt(): void {
    this.interrupts += 1;
    if (this.interrupts >= 2) {
      this.output.write('\n');
      this.ended = true;
      this.deliver(undefined);
      this.rl.close();
      return;
    }
    this.rl.write(null, { ctrl: true, name: 'u' });
    this.output.write('\n(Ctrl-C again leaves; exit does too)\n');
    this.rl.prompt();
  }

  next(prompt: string, ask: AskOptions = {}): Promise<string | undefined> {
    const queued = this.queue.shift();
    if (!this.interactive) {
      // Echo what was answered after its prompt, so piped forms and commands show as asked.
      if (queued !== undefined) {
        if (queued.trim() !== '' || ask.noHistory) this.output.write(`${prompt}${queued}\n`);
        return Promise.resolve(queued);
      }
      if (this.ended) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        this.waiting = (line) => {
          if (line !== undefined && (line.trim() !== '' || ask.noHistory)) this.output.write(`${prompt}${line}\n`);
          resolve(line);
        };
      });
    }
    if (this.ended) return Promise.resolve(undefined);
    this.rl.setPrompt(prompt);
    this.rl.prompt();
    if (queued !== undefined) return Promise.resolve(this.forget(queued, ask));
    return new Promise((resolve) => {
      this.waiting = (line) => resolve(line === undefined ? undefined : this.forget(line, ask));
    });
  }

  /** readline's own history, newest first (typed as internal in @types/node). */
  private history(): string[] | undefined {
    return (this.rl as unknown as { history?: string[] }).history;
  }

  /** Form answers are no commands to recall: out of the history they go. */
  private forget(line: string, ask: AskOptions): string {
    const h = this.history();
    if (ask.noHistory && line.trim() !== '' && h?.[0] === line.trim()) {
      h.shift();
      saveHistory(this.opts.historyFile, h);
    }
    return line;
  }

  /**
   * Prints output that arrives on its own (a late reply, a thread post). At a waiting prompt it
   * goes above the prompt, which is drawn again with what was typed so far.
   */
  print(text: string): void {
    if (this.interactive && this.waiting) {
      clearLine(this.output, 0);
      cursorTo(this.output, 0);
      this.output.write(text);
      this.rl.prompt(true);
      return;
    }
    this.output.write(text);
  }

  close(): void {
    this.rl.close();
  }
}

function readHistory(file: string | undefined): string[] {
  if (!file) return [];
  try {
    // Newest first, as readline keeps it.
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

function saveHistory(file: string | undefined, history: string[]): void {
  if (!file) return;
  try {
    mkdirSync(dirname(file), { recursive: true });
    const lines = [...new Set(history.map((l) => l.trim()).filter(Boolean))].slice(0, HISTORY_SIZE);
    writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  } catch {
    // A read-only DATA_DIR costs the history, not the session.
  }
}
