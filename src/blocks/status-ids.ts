// action_id and callback_id values of the status page, stakeholder updates and verification (issue 11).

export const INCIDENT_STATUS_PAGE = 'incident:status-page';
export const INCIDENT_POST_UPDATE = 'incident:post-update';

export const STATUS_PAGE_VIEW = 'incident_status_page';
export const SP_NAME = 'sp_name';
export const SP_STATUS = 'sp_status';
export const SP_BODY = 'sp_body';
/** One select per platform component: `sp_component:<component>`. */
export const SP_COMPONENT_PREFIX = 'sp_component:';

export const POST_UPDATE_VIEW = 'incident_post_update';
export const UPDATE_MESSAGE = 'update_message';

export const RESOLVE_CONFIRM_VIEW = 'incident_resolve_confirm';
