// The Add follow-up modal: a title (one GitHub issue), an optional owner and an optional due date.
import type { ModalView } from '@slack/types';
import type { Incident } from '../incidents/types.js';
import { FOLLOWUP_VIEW, FU_DUE, FU_OWNER, FU_TITLE } from './incident-ids.js';
import { section } from './message.js';
import { escInert } from './mrkdwn.js';

/** GitHub's limit on an issue title. */
export const FOLLOWUP_TITLE_MAX = 256;

export function followupModal(i: Incident, repo: string): ModalView {
  return {
    type: 'modal',
    callback_id: FOLLOWUP_VIEW,
    private_metadata: i.id,
    title: { type: 'plain_text', text: 'Add follow-up' },
    submit: { type: 'plain_text', text: 'Add' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(`*${escInert(i.title)}* (${i.severity}): the follow-up becomes an issue in \`${escInert(repo)}\`.`),
      {
        type: 'input',
        block_id: FU_TITLE,
        label: { type: 'plain_text', text: 'Title' },
        element: {
          type: 'plain_text_input',
          action_id: FU_TITLE,
          max_length: FOLLOWUP_TITLE_MAX,
          placeholder: { type: 'plain_text', text: 'What should be done, e.g. Alert on consumer lag' },
        },
      },
      {
        type: 'input',
        block_id: FU_OWNER,
        optional: true,
        label: { type: 'plain_text', text: 'Owner' },
        element: {
          type: 'users_select',
          action_id: FU_OWNER,
          placeholder: { type: 'plain_text', text: 'Who owns it' },
        },
      },
      {
        type: 'input',
        block_id: FU_DUE,
        optional: true,
        label: { type: 'plain_text', text: 'Due' },
        element: { type: 'datepicker', action_id: FU_DUE, placeholder: { type: 'plain_text', text: 'By when' } },
      },
    ],
  };
}
