// The Page modal: PagerDuty users or escalation policies, searched as you type (an external
// select answered from block_suggestion), and the message they get.
import type { ModalView } from '@slack/types';
import type { PageTarget } from '../incidents/paging.js';
import type { Incident } from '../incidents/types.js';
import { PAGE_CONTACTS, PAGE_MESSAGE, PAGE_TARGETS, PAGE_VIEW } from './incident-ids.js';

/** `contacts`: the runbook's escalation contacts configured (ESCALATION_CONTACTS), as shortcuts. */
export function pageModal(i: Incident, contacts: Array<{ role: string; label: string }> = []): ModalView {
  return {
    type: 'modal',
    callback_id: PAGE_VIEW,
    private_metadata: i.id,
    title: { type: 'plain_text', text: 'Page responders' },
    submit: { type: 'plain_text', text: 'Page' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      ...(contacts.length
        ? [
            {
              type: 'input' as const,
              block_id: PAGE_CONTACTS,
              optional: true,
              label: { type: 'plain_text' as const, text: 'Bring in (escalation contacts)' },
              element: {
                type: 'checkboxes' as const,
                action_id: PAGE_CONTACTS,
                options: contacts.slice(0, 10).map((c) => ({
                  text: { type: 'plain_text' as const, text: c.label.slice(0, 75) },
                  value: c.role,
                })),
              },
            },
          ]
        : []),
      {
        type: 'input',
        block_id: PAGE_TARGETS,
        optional: contacts.length > 0,
        label: { type: 'plain_text', text: 'Who (PagerDuty users or escalation policies)' },
        element: {
          type: 'multi_external_select',
          action_id: PAGE_TARGETS,
          min_query_length: 1,
          placeholder: { type: 'plain_text', text: 'Type a name' },
        },
      },
      {
        type: 'input',
        block_id: PAGE_MESSAGE,
        label: { type: 'plain_text', text: 'Message' },
        element: {
          type: 'plain_text_input',
          action_id: PAGE_MESSAGE,
          multiline: true,
          max_length: 1000,
          initial_value: `Please join: ${i.severity} · ${i.title}`.slice(0, 1000),
        },
      },
    ],
  };
}

/** The external select's answer to block_suggestion. */
export function pageOptions(targets: PageTarget[]) {
  return {
    options: targets.slice(0, 100).map((t) => ({
      text: {
        type: 'plain_text' as const,
        text: (t.kind === 'user' ? t.name : `Escalation policy: ${t.name}`).slice(0, 75),
      },
      value: `${t.kind}:${t.id}`,
    })),
  };
}
