// No message without a reader, for the incident outbox: INCIDENTS_CHANNEL is a private channel
// the bot is not in, so Slack refuses its posts and conversations.join cannot help. Nothing is
// dropped: the posts wait and are retried with backoff, the log and /health say the channel is
// unreachable, the person whose act could not be posted is told by DM (once), and everything
// reaches the thread, once, after someone invites the bot.
import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BotProcess,
  controls,
  eventually,
  INCIDENTS,
  settled,
  startWorld,
  textOf,
  type World,
} from '../incidents/world.js';

const ALICE = 'U0ALICE01';

describe('an incidents channel the bot is not in and cannot join', () => {
  let w: World;
  let bot: BotProcess;

  beforeAll(async () => {
    w = await startWorld();
    bot = await w.start();
  });
  afterAll(async () => {
    await w?.close();
  });

  const health = async () =>
    (await (await fetch(`${bot.url}/health`)).json()) as { status: string; components: Record<string, string> };
  const outbox = async (incidentId: string) =>
    (
      await w.db.client.query<{
        payload: { type: string };
        error: string | null;
        failed: boolean;
        done_at: Date | null;
      }>('SELECT payload, error, failed, done_at FROM incident_outbox WHERE incident_id = $1 ORDER BY id', [incidentId])
    ).rows;
  const dmsTo = (user: string) => w.slack.messages.filter((m) => m.channel === user);

  it('keeps the posts, says so in the log and /health, and delivers them once the bot is invited', async () => {
    w.slack.setChannel(INCIDENTS, { is_private: true, member: false });
    const inc = await w.pd.triggerIncident({ title: 'Scans stuck behind a private wall', serviceId: 'PDMPAPI' });

    const rows = await eventually(
      async () => {
        const r = await outbox(inc.id);
        return r[0]?.error?.startsWith('channel unreachable') ? r : undefined;
      },
      15_000,
      'the root post to fail as unreachable',
    );
    // Kept for a retry, not given up.
    expect(rows[0]?.failed).toBe(false);
    expect(rows[0]?.done_at).toBeNull();
    expect(w.roots().some((m) => m.text.includes('Scans stuck behind a private wall'))).toBe(false);
    expect(w.slack.callsTo('conversations.join').some((c) => c.args.channel === INCIDENTS)).toBe(true);
    expect(bot.logs.some((l) => l.includes('the incidents channel is unreachable'))).toBe(true);
    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.components.incidents_channel).toMatch(/^unreachable/);

    // Someone invites the bot: the waiting root and its replies go out, and /health recovers.
    w.slack.setChannel(INCIDENTS, { member: true });
    const root = await eventually(
      () => w.roots().find((m) => m.text.includes('Scans stuck behind a private wall')),
      90_000,
      'the root after the invitation',
    );
    await eventually(
      () => w.replies(root.ts).some((m) => m.text.startsWith('Investigating:')),
      30_000,
      'the Investigating reply',
    );
    await settled(w, 30_000);
    expect(w.roots().filter((m) => m.text.includes('Scans stuck behind a private wall'))).toHaveLength(1);
    expect(w.replies(root.ts).filter((m) => m.text.startsWith('Investigating:'))).toHaveLength(1);
    const after = await health();
    expect(after.components.incidents_channel).toBe('healthy');
    expect(after.status).toBe('healthy');
  }, 180_000);

  it('tells the person who pressed Acknowledge by DM, once, and posts the reply after the invitation', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Workers dead while the bot is out', serviceId: 'PDMPAPI' });
    await settled(w);
    const root = w.roots().find((m) => m.text.includes('Workers dead while the bot is out')) as SlackMessage;
    expect(root).toBeDefined();

    // The bot is removed from the (private) channel; then Alice acknowledges on the root.
    w.slack.setChannel(INCIDENTS, { is_private: true, member: false });
    const ack = controls(w.slack.message(INCIDENTS, root.ts)).find((c) => c.label === 'Acknowledge');
    if (!ack) throw new Error('no Acknowledge control');
    await w.click({
      actionId: ack.action_id,
      value: ack.value,
      blockId: ack.block_id,
      messageTs: root.ts,
      user: ALICE,
    });

    const dm = await eventually(
      () => dmsTo(ALICE).find((m) => m.text.includes('I cannot post in')),
      30_000,
      'the DM to Alice',
    );
    expect(dm.text).toContain(`<#${INCIDENTS}>`);
    expect(dm.text).toContain('Workers dead while the bot is out');
    expect(w.pd.incidents.get(inc.id)?.status).toBe('acknowledged');
    // Retried a few times meanwhile (each retry reads the thread back first), still not given
    // up, still unreachable, and Alice is not told again.
    await eventually(
      async () => {
        const [row] = (
          await w.db.client.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM incident_outbox
              WHERE incident_id = $1 AND done_at IS NULL AND claims >= 3 AND error LIKE 'channel unreachable%'`,
            [inc.id],
          )
        ).rows;
        return Number(row?.n) > 0;
      },
      60_000,
      'the reply retried while waiting',
    );
    expect((await outbox(inc.id)).some((r) => r.failed)).toBe(false);
    expect(dmsTo(ALICE).filter((m) => m.text.includes('I cannot post in'))).toHaveLength(1);

    w.slack.setChannel(INCIDENTS, { member: true });
    await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('Acknowledged by')),
      90_000,
      'the acknowledgement in the thread',
    );
    await settled(w, 30_000);
    expect(w.replies(root.ts).filter((m) => m.text.includes('Acknowledged by'))).toHaveLength(1);
    expect(dmsTo(ALICE).filter((m) => m.text.includes('I cannot post in'))).toHaveLength(1);
    expect(textOf(w.slack.message(INCIDENTS, root.ts))).toContain('Acknowledged');
  }, 180_000);

  it('joins a public incidents channel it is not in, and posts there', async () => {
    w.slack.setChannel(INCIDENTS, { is_private: false, member: false });
    const joins = w.slack.callsTo('conversations.join').length;
    await w.pd.triggerIncident({ title: 'Webhooks failing in a channel never joined', serviceId: 'PDMPAPI' });
    await settled(w);
    expect(w.roots().filter((m) => m.text.includes('Webhooks failing in a channel never joined'))).toHaveLength(1);
    expect(
      w.slack
        .callsTo('conversations.join')
        .slice(joins)
        .some((c) => c.args.channel === INCIDENTS),
    ).toBe(true);
    expect((await health()).components.incidents_channel).toBe('healthy');
  }, 60_000);
});
