// `/dmp audit [n]`: the latest entries of the audit log.

import { fitBlocks } from '../blocks/limits.js';
import { context, esc, header, section } from '../blocks/message.js';
import { UserError } from '../errors.js';
import { latestAudit } from '../store/audit.js';
import type { Command } from './types.js';

export const auditCommand: Command = {
  words: ['audit'],
  usage: '[n]',
  summary: 'the latest audit log entries: who ran what, where, and the outcome',
  section: 'Bot',
  group: 'Bot',
  private: true,
  async run(deps, req) {
    const n = req.args[0] === undefined ? 20 : Number(req.args[0]);
    if (!Number.isInteger(n) || n < 1 || n > 200)
      throw new UserError('`/dmp audit [n]` takes a number of entries from 1 to 200.');
    const rows = await latestAudit(deps.store, n);
    if (!rows.length) return { text: 'The audit log is empty.', blocks: [section('The audit log is empty.')] };
    const lines = rows.map((r) => {
      const who = `<@${r.userId}>`;
      const where = r.channelId ? ` in <#${r.channelId}>` : '';
      const what = r.text ? `\`${esc(r.text.slice(0, 120))}\`` : esc(r.action);
      const why = r.reason ? ` — ${esc(r.reason.slice(0, 200))}` : '';
      const ms = r.durationMs !== undefined ? ` (${r.durationMs} ms)` : '';
      return `${r.at.toISOString().replace('T', ' ').slice(0, 19)}Z ${who}${where}: ${what} → *${r.outcome}*${ms}${why}`;
    });
    const blocks = [header(`Audit log: latest ${rows.length}`)];
    for (let i = 0; i < lines.length; i += 10) blocks.push(section(lines.slice(i, i + 10).join('\n')));
    blocks.push(context('Newest first.'));
    return { text: `Audit log: latest ${rows.length} entries`, blocks: fitBlocks(blocks) };
  },
};
