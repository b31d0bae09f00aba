// Reads back what the bot's charts carry: the numbers they draw, in a PNG tEXt chunk.
import { CHART_DATA_KEY } from '../../src/charts/stats-chart.js';

/** The JSON a PNG carries in its `dmp-chart-data` tEXt chunk (walks the chunks after the 8-byte signature). */
export function chartDataOf(png: Buffer): unknown {
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('latin1');
    const body = png.subarray(at + 8, at + 8 + len);
    if (type === 'tEXt') {
      const zero = body.indexOf(0);
      if (body.subarray(0, zero).toString('latin1') === CHART_DATA_KEY)
        return JSON.parse(body.subarray(zero + 1).toString('latin1'));
    }
    at += 12 + len;
  }
  throw new Error('no chart data in the PNG');
}
