// action_id, block_id and callback_id values of the incident thread, its modals and App Home.

export const INCIDENT_ACK = 'incident:ack';
export const INCIDENT_DIAGNOSE = 'incident:diagnose';
export const INCIDENT_ESCALATE = 'incident:escalate';
export const INCIDENT_MITIGATE = 'incident:mitigate';
export const INCIDENT_RESOLVE = 'incident:resolve';
export const INCIDENT_REASSIGN = 'incident:reassign';
export const INCIDENT_SEVERITY = 'incident:severity';
/** The root's "More…" overflow: each option's value is `<incident>|<action_id>` of the control it stands for. */
export const INCIDENT_MORE = 'incident:more';
export const INCIDENT_TAKE_COMMAND = 'incident:take-command';
export const INCIDENT_PAGE = 'incident:page';
export const PAGE_VIEW = 'incident_page';
export const PAGE_TARGETS = 'page_targets';
export const PAGE_MESSAGE = 'page_message';
export const PAGE_CONTACTS = 'page_contacts';
export const POSTMORTEM_FILL = 'incident:postmortem-fill';
/** Add follow-up: on the root and on the post-mortem reply; opens FOLLOWUP_VIEW. */
export const INCIDENT_ADD_FOLLOWUP = 'incident:add-followup';
export const FOLLOWUP_VIEW = 'incident_followup';
export const FU_TITLE = 'fu_title';
export const FU_OWNER = 'fu_owner';
export const FU_DUE = 'fu_due';

/** Block ids of the root message's action rows carry the incident id after this prefix. */
export const INCIDENT_BLOCK_PREFIX = 'incident:';

export const DECLARE_VIEW = 'incident_declare';
export const DECLARE_TITLE = 'declare_title';
export const DECLARE_SEVERITY = 'declare_severity';
export const DECLARE_SERVICE = 'declare_service';
export const DECLARE_DESCRIPTION = 'declare_description';

export const POSTMORTEM_VIEW = 'incident_postmortem';
export const PM_ROOT_CAUSE = 'pm_root_cause';
export const PM_ACTION_ITEMS = 'pm_action_items';
export const PM_LEARNINGS = 'pm_learnings';
export const PM_IMPACT = 'pm_impact';

/** A select option's value: which incident, which choice (`Q1ABC|db-slow`). */
export function optionValue(incidentId: string, choice: string): string {
  return `${incidentId}|${choice}`;
}

export function parseOptionValue(value: string): { incidentId: string; choice: string } | undefined {
  const at = value.lastIndexOf('|');
  if (at <= 0) return undefined;
  return { incidentId: value.slice(0, at), choice: value.slice(at + 1) };
}
