// The domain says names as values (code spans, plain words); blocks/ escapes them once, so a name
// holding <, >, & or a backtick reads as written in the preview, the outcome and the refusal, and
// a preview stored as a plain string before the values came still renders as it did.
import { describe, expect, it } from 'vitest';
import { textMessage } from '../../src/blocks/message.js';
import { renderText } from '../../src/blocks/mrkdwn.js';
import {
  approvalRequestMessage,
  nothingToDoMessage,
  outcomeMessage,
  previewMessage,
  refusalText,
} from '../../src/blocks/remediation.js';
import type { Config } from '../../src/config.js';
import { code, plainText } from '../../src/domain/text.js';
import { UserError } from '../../src/errors.js';
import { Redactor } from '../../src/redact.js';
import type { ActionRow } from '../../src/remediations/action.js';
import { sentenceOf } from '../../src/remediations/flow.js';
import { assertPlatformDeployment, readDeployment } from '../../src/remediations/kube.js';
import { interruptedSummary } from '../../src/remediations/recovery.js';
import type { ActionContext } from '../../src/remediations/types.js';

const NAME = 'a<b>&`c';
/** NAME as plain mrkdwn words, and as a code span (whose backtick becomes a look-alike). */
const WORDS = 'a&lt;b&gt;&amp;`c';
const CODE = '`a&lt;b&gt;&amp;ˋc`';

const row: ActionRow = {
  id: 'act-1',
  remedy: 'restart-deployment',
  params: { deployment: NAME },
  preview: {
    summary: [`${NAME}: run `, code('logrotate -f /etc/logrotate.conf'), ' in ', code(NAME)],
    details: [[code('df -h /var/log'), ' now:'], `/dev/sda1 78% /var/log/${NAME}`],
  },
  state: 'pending',
  highRisk: false,
  requestedBy: 'U0ALICE01',
  channelId: 'C0OPS0001',
  createdAt: new Date(0),
  expiresAt: new Date(300_000),
};

/** Every mrkdwn text of a message: its fallback text and each text object of its blocks. */
function texts(m: { text: string; blocks?: unknown[] }): string[] {
  const out = [m.text];
  JSON.stringify(m.blocks ?? [], (k, v) => {
    if (k === 'text' && typeof v === 'string') out.push(v);
    return v;
  });
  return out;
}

function escapedOnce(all: string[]): void {
  for (const t of all) {
    expect(t).not.toMatch(/&amp;(amp|lt|gt);/);
    expect(t).not.toContain(NAME);
  }
}

describe('names in the remediation messages, escaped once', () => {
  it('the preview shows the name as words and as code, escaped once in blocks and fallback text', () => {
    const m = previewMessage({ action: row, label: 'Restart it', highRisk: false, twoPerson: false, ttlMs: 300_000 });
    expect(m.text).toBe(`Confirm: Restart it — ${WORDS}: run \`logrotate -f /etc/logrotate.conf\` in ${CODE}`);
    const blocks = JSON.stringify(m.blocks);
    expect(blocks).toContain(JSON.stringify(`:mag: *${WORDS}: run \`logrotate -f /etc/logrotate.conf\` in ${CODE}*`));
    expect(blocks).toContain(JSON.stringify(`\`df -h /var/log\` now:\n/dev/sda1 78% /var/log/${WORDS}`));
    escapedOnce(texts(m));
    escapedOnce(texts(approvalRequestMessage(row, 'Restart it', 300_000)));
  });

  it('the recovery line names where to look as code, escaped once', () => {
    const summary = interruptedSummary(row);
    expect(plainText(summary)).toBe(`interrupted — outcome unknown, check \`/dmp rollout history ${NAME}\``);
    const m = outcomeMessage(row, 'Restart it', { ok: false, summary });
    expect(m.text).toBe('Restart it: interrupted — outcome unknown, check `/dmp rollout history a&lt;b&gt;&amp;ˋc`');
    escapedOnce(texts(m));
  });

  it('the refusal of a deployment that is not the platform’s renders the name as code, once, wherever it is said', () => {
    const ctx = { config: { DMP_DEPLOYMENTS: ['api', 'scan-workers'] } as Config } as ActionContext;
    let err: unknown;
    try {
      assertPlatformDeployment(ctx, NAME);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    const refusal = err as UserError;
    // The log reads the plain form; Slack gets the rendered one.
    expect(refusal.message).toBe(
      `\`${NAME}\` is not one of the platform's deployments (api, scan-workers); nothing was changed.`,
    );
    const said = `${CODE} is not one of the platform's deployments (api, scan-workers); nothing was changed.`;
    // /dmp restart …: the command glue's answer.
    expect(textMessage(refusal.text)).toEqual({
      text: said,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: said } }],
    });
    // A button: the safety layer's sentence, then the step's refusal.
    const sentence = sentenceOf(refusal, new Redactor());
    expect(renderText(sentence)).toBe(said);
    expect(refusalText({ kind: 'invalid', action: row, message: sentence }, () => 'Restart it', 'confirmation')).toBe(
      said,
    );
  });

  it('a deployment that is not there is named as code in its namespace, once', async () => {
    const kube = { namespace: 'd&p', run: async () => undefined };
    const ctx = { targets: { kube } } as unknown as ActionContext;
    const err = await readDeployment(ctx, NAME).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(textMessage((err as UserError).text).text).toBe(`There is no deployment ${CODE} in namespace \`d&amp;p\`.`);
  });

  it('a preview stored as plain strings (rows written before the values) renders as it did', () => {
    const old: ActionRow = {
      ...row,
      preview: {
        summary: 'create idx_nodes_scan: `CREATE INDEX CONCURRENTLY idx_nodes_scan ON nodes (scan_id)`',
        details: ['nodes: 10 rows <estimated>'],
        nothingToDo: 'idx_nodes_scan does not exist: create it with `/dmp db index`.',
      },
    };
    const m = previewMessage({ action: old, label: 'Reindex', highRisk: false, twoPerson: false, ttlMs: 300_000 });
    expect(m.text).toBe(
      'Confirm: Reindex — create idx_nodes_scan: `CREATE INDEX CONCURRENTLY idx_nodes_scan ON nodes (scan_id)`',
    );
    expect(JSON.stringify(m.blocks)).toContain('nodes: 10 rows &lt;estimated&gt;');
    expect(nothingToDoMessage('Reindex', old.preview).text).toBe(
      'Reindex: nothing to do. idx_nodes_scan does not exist: create it with `/dmp db index`.',
    );
  });
});
