// Registers every listener of the incident workflow (one per file; the plain buttons share one table) and its HTTP route.
import type { App } from '@slack/bolt';
import type { Deps } from '../deps.js';
import { register as buttons } from './actions/incident-buttons.js';
import { register as diagnose } from './actions/incident-diagnose.js';
import { register as followup } from './actions/incident-followup.js';
import { register as page } from './actions/incident-page.js';
import { register as postmortemFill } from './actions/incident-postmortem-fill.js';
import { register as reassign } from './actions/incident-reassign.js';
import { register as remediationTimeline } from './actions/incident-remediation-timeline.js';
import { register as roles } from './actions/incident-roles.js';
import { register as severity } from './actions/incident-severity.js';
import { register as statusPage } from './actions/incident-status-page.js';
import { register as appHome } from './events/app-home-opened.js';
import { register as followupReaction } from './events/incident-followup-reaction.js';
import { register as pin } from './events/incident-pin.js';
import { register as declareView } from './views/incident-declare.js';
import { register as postmortemView } from './views/incident-postmortem.js';
import { register as statusPageViews } from './views/incident-status-page.js';

export { pagerDutyWebhookRoutes } from './pagerduty-webhook.js';

export function registerIncidentListeners(app: App, deps: Deps): void {
  for (const register of [
    remediationTimeline,
    buttons,
    diagnose,
    reassign,
    roles,
    page,
    severity,
    postmortemFill,
    followup,
    declareView,
    postmortemView,
    statusPage,
    statusPageViews,
    appHome,
    pin,
    followupReaction,
  ]) {
    register(app, deps);
  }
}
