// A reply that arrives while the prompt waits is printed above it, and the prompt is drawn
// again with what the user had typed, as a good REPL does.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineReader } from '../../src/console/line-reader.js';

describe('console prompt', () => {
  it('prints a late reply above a fresh prompt that keeps the half-typed line', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let screen = '';
    output.on('data', (d: Buffer) => {
      screen += d.toString();
    });
    const reader = new LineReader(input, output, { interactive: true });
    const answer = reader.next('dmp> ');
    input.write('/dmp he');
    await new Promise((r) => setImmediate(r));
    const at = screen.length;
    reader.print('Rollout of scan-workers finished\n');
    const after = screen.slice(at).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(after).toMatch(/Rollout of scan-workers finished\n[\s\S]*dmp> \/dmp he$/);
    input.write('alth\r');
    expect(await answer).toBe('/dmp health');
    reader.close();
  });
});
