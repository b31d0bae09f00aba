// The mark-scan-failed modal. Its first input is the scan ID: a bad one, an unknown one or one
// no longer pending or running is answered inline with response_action "errors" on that input.
// The modal opened from a diagnosis already shows the scan; one submission marks it failed —
// once, however often it is submitted — and the thread says what it was.
import type { App } from '@slack/bolt';
import { SCAN_FAIL_MODAL, SCAN_ID_BLOCK, SCAN_ID_INPUT } from '../../blocks/remediation-ids.js';
import type { Deps } from '../../deps.js';
import { parseScanModalMeta, runAndReport } from '../remediation-kit.js';

export function register(app: App, deps: Deps): void {
  app.view(SCAN_FAIL_MODAL, async ({ ack, body, view, client }) => {
    const meta = parseScanModalMeta(view.private_metadata);
    const errors = (message: string) => ack({ response_action: 'errors', errors: { [SCAN_ID_BLOCK]: message } });
    if (!meta) return errors('This form lost track of where it was opened; run `/dmp scan fail` again.');
    const res = await deps.remediations.submitScanFail({
      userId: body.user.id,
      channelId: meta.c,
      threadTs: meta.t,
      scanId: view.state.values[SCAN_ID_BLOCK]?.[SCAN_ID_INPUT]?.value ?? '',
      onceKey: `view:${view.id}`,
    });
    if (res.kind === 'error') return errors(res.message);
    await ack();
    // A repeated submission of the same form finds its key taken: the first one does the work.
    if (res.action) await runAndReport(deps, client, res.action);
  });
}
