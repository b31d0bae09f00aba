// The mark-scan-failed modal. Its first input is the scan ID: a bad one, an unknown one or one
// no longer pending or running is answered inline with response_action "errors" on that input.
// The modal opened from a diagnosis already shows the scan; one submission marks it failed —
// once, however often it is submitted — and the thread says what it was.
import type { App } from '@slack/bolt';
import { SCAN_FAIL_MODAL, SCAN_ID_BLOCK, SCAN_ID_INPUT } from '../../blocks/remediation-ids.js';
import type { Deps } from '../../deps.js';
import { TargetError } from '../../errors.js';
import { describeScan, isMarkable, lookupScan, markSummary, SCAN_ID } from '../../remediations/mark-scan-failed.js';
import { parseScanModalMeta, runAndReport } from '../remediation-kit.js';

export function register(app: App, deps: Deps): void {
  app.view(SCAN_FAIL_MODAL, async ({ ack, body, view, client }) => {
    const service = deps.remediations;
    const userId = body.user.id;
    const meta = parseScanModalMeta(view.private_metadata);
    const errors = (message: string) => ack({ response_action: 'errors', errors: { [SCAN_ID_BLOCK]: message } });
    if (!meta) return errors('This form lost track of where it was opened; run `/dmp scan fail` again.');
    const refused = await service.refusal(userId, meta.c, 'mark-scan-failed', 'submit the mark-scan-failed form');
    if (refused) return errors(refused);
    const raw = view.state.values[SCAN_ID_BLOCK]?.[SCAN_ID_INPUT]?.value ?? '';
    const parsed = SCAN_ID.safeParse(raw);
    if (!parsed.success) {
      await service.auditPreview({ userId, channelId: meta.c }, 'mark-scan-failed', 'rejected a scan ID that is not a UUID', { input: raw.slice(0, 100) });
      return errors(`That is not a scan ID: a scan ID is a UUID such as 6f1c1b7e-0000-4000-8000-000000000001.`);
    }
    const scanId = parsed.data;
    let scan: Awaited<ReturnType<typeof lookupScan>>;
    try {
      scan = await lookupScan({ targets: deps.targets }, scanId, 2_000);
    } catch (err) {
      return errors(err instanceof TargetError ? err.sentence() : 'The scan could not be looked up; try again.');
    }
    if (!scan) return errors(`There is no scan ${scanId}.`);
    const lines = describeScan(scan, deps.now());
    if (!isMarkable(scan)) return errors(`Scan ${scanId} is ${scan.status}, not pending or running: there is nothing to mark.`);
    const row = await service.startConfirmed({
      remedy: 'mark-scan-failed',
      params: { scanId },
      preview: { summary: markSummary(scan), details: lines },
      userId,
      channelId: meta.c,
      threadTs: meta.t,
      onceKey: `view:${view.id}:${scanId}`,
    });
    await ack();
    // A repeated submission of the same form finds its key taken: the first one does the work.
    if (row) await runAndReport(deps, client, row);
  });
}
