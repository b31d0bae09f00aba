// Ticking checkboxes on a preview (the backends to terminate): acknowledged, and the pick kept
// with the pending action so Confirm uses it even when Slack leaves the state out of the click.
import type { App, BlockAction, CheckboxesAction } from '@slack/bolt';
import { PICK_BLOCK, REMEDIATION_PICK } from '../../blocks/remediation-ids.js';
import type { Deps } from '../../deps.js';
import { pickedOf } from '../picked.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<CheckboxesAction>>(REMEDIATION_PICK, async ({ ack, body, action }) => {
    await ack();
    const id = action.block_id.startsWith(`${PICK_BLOCK}:`) ? action.block_id.slice(PICK_BLOCK.length + 1) : '';
    if (!id) return;
    await deps.remediations.pick({
      id,
      userId: body.user.id,
      values: pickedOf(action).values,
    });
  });
}
