// action_id, block_id and callback_id values of the remediation flow, exported once. They do
// not start with `remedy:` so the diagnosis buttons' pattern never catches them.

export const REMEDIATION_CONFIRM = 'remediation:confirm';
export const REMEDIATION_CANCEL = 'remediation:cancel';
export const REMEDIATION_APPROVE = 'remediation:approve';
/** Checkboxes on a preview (the backends to terminate). */
export const REMEDIATION_PICK = 'remediation:pick';
export const PICK_BLOCK = 'remediation_pick';
export const CONFIRM_BLOCK = 'remediation_confirm';
export const APPROVE_BLOCK = 'remediation_approve';

/** The reason a high-risk action asks for. */
export const REASON_MODAL = 'remediation:reason';
export const REASON_BLOCK = 'reason';
export const REASON_INPUT = 'reason_input';

/** Mark a scan failed: the scan ID is the modal's first input. */
export const SCAN_FAIL_MODAL = 'remediation:scan-fail';
export const SCAN_ID_BLOCK = 'scan_id';
export const SCAN_ID_INPUT = 'scan_id_input';
