// The remediation messages escape what the platform and the user wrote, in blocks and in the
// fallback text alike: Slack parses `<…>` in both, so a raw `<!channel>` would notify a channel.
import { describe, expect, it } from 'vitest';
import { approvalRequestMessage, outcomeMessage } from '../../src/blocks/remediation.js';
import type { ActionRow } from '../../src/remediations/action.js';

const row: ActionRow = {
  id: 'act-1',
  remedy: 'terminate-queries',
  params: {},
  preview: { summary: 'terminate pid 42: SELECT * FROM t WHERE a <> b & c', details: [] },
  state: 'awaiting_approval',
  highRisk: true,
  requestedBy: 'U0ALICE01',
  reason: 'the <!channel> export is stuck',
  channelId: 'C0OPS0001',
  createdAt: new Date(0),
  expiresAt: new Date(300_000),
};

describe('remediation messages', () => {
  it('escapes a query text with <, > and & in the outcome, blocks and fallback text', () => {
    const m = outcomeMessage(row, 'Terminate queries', { ok: false, summary: 'pid <42> & <!channel> refused' });
    expect(m.text).toBe('Terminate queries: pid &lt;42&gt; &amp; &lt;!channel&gt; refused');
    expect(JSON.stringify(m.blocks)).not.toContain('<!channel>');
  });

  it('escapes the preview and the reason in the approval request, and mentions the requester', () => {
    const m = approvalRequestMessage(row, 'Terminate queries', 300_000);
    expect(m.text).toContain('a &lt;&gt; b &amp; c');
    const blocks = JSON.stringify(m.blocks);
    expect(blocks).not.toContain('<!channel>');
    expect(blocks).toContain('&lt;!channel&gt;');
    expect(blocks).toContain('<@U0ALICE01>');
  });
});
