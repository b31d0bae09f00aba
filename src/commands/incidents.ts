// `/dmp incident declare|status|timeline` and `/dmp postmortem <incident>`: the incident
// procedure of the runbook (Incident Response) from the slash command.
import { postmortemMessage } from '../blocks/incident-postmortem.js';
import { statsMessage } from '../blocks/incident-stats.js';
import { declareModal, statusMessage, timelineMessage } from '../blocks/incident-status.js';
import { context, section } from '../blocks/message.js';
import { renderRich } from '../blocks/mrkdwn.js';
import { oncallMessage } from '../blocks/oncall.js';
import { postmortemChartFile } from '../charts/postmortem-chart.js';
import { statsChartPng } from '../charts/stats-chart.js';
import { code } from '../domain/text.js';
import { UserError } from '../errors.js';
import { refreshFollowupStates } from '../followups/refresh.js';
import { followupsConfigured } from '../followups/store.js';
import { NO_PAGERDUTY_TO_DECLARE, threadsOff } from '../incidents/actions.js';
import { whoIsOnCall } from '../incidents/oncall.js';
import { pacedPagerDuty } from '../incidents/pagerduty-client.js';
import { getPostmortem } from '../incidents/postmortem.js';
import { assignRole, ROLE_NAME } from '../incidents/roles.js';
import { incidentStats, STATS_WINDOWS, type StatsWindow } from '../incidents/stats.js';
import { findIncident, latestIncident, openIncidents } from '../incidents/store.js';
import { timelineOf } from '../incidents/timeline.js';
import type { Role } from '../incidents/types.js';
import type { Command } from './types.js';

const SECTION = 'Incident Response › Incident Procedure';
const INCIDENT_REF = /^#?[A-Za-z0-9_-]{1,64}$/;

async function incidentFrom(store: Parameters<typeof findIncident>[0], arg: string | undefined, usage: string) {
  if (arg === undefined) {
    const latest = await latestIncident(store);
    if (!latest) throw new UserError('There are no incidents yet.');
    return latest;
  }
  if (!INCIDENT_REF.test(arg))
    throw new UserError([
      code(usage),
      ' takes a PagerDuty incident ID or number, like ',
      code('Q2CKYRLH85UNN4'),
      ' or ',
      code('37'),
      '.',
    ]);
  const found = await findIncident(store, arg);
  if (!found)
    throw new UserError([
      'I have no incident ',
      code(arg),
      '. ',
      code('/dmp incident status'),
      ' lists the open ones.',
    ]);
  return found;
}

export const incidentDeclareCommand: Command = {
  words: ['incident', 'declare'],
  summary:
    'declare an incident from a customer report: a form (title, severity, service, description) that pages PagerDuty and opens its thread',
  section: `${SECTION} › 1. Detection`,
  group: 'Incidents',
  async run(deps) {
    // A command refuses by throwing (the router renders and audits it): the domain's refusal, said.
    const off = threadsOff(deps);
    if (off) throw new UserError(renderRich(off.text));
    if (!deps.config.PAGERDUTY_API_TOKEN) throw new UserError(NO_PAGERDUTY_TO_DECLARE);
    // The form must open within Slack's three seconds: the service list is a nicety, not a need.
    const pd = pacedPagerDuty(deps, 1_200);
    let services: Array<{ id: string; name: string }> = [];
    try {
      const res = await pd.request('GET', '/services', { query: { limit: '100' } });
      services = (
        (res.body as { services?: Array<{ id?: string; name?: string; summary?: string }> } | undefined)?.services ?? []
      )
        .filter((s): s is { id: string; name?: string; summary?: string } => typeof s.id === 'string')
        .map((s) => ({ id: s.id, name: s.name ?? s.summary ?? s.id }));
    } catch (err) {
      deps.log.warn({ err }, 'could not list PagerDuty services; the form asks for a service ID');
    }
    const modal = declareModal(services);
    return { text: 'Declare an incident', blocks: [], modal };
  },
};

export const incidentStatusCommand: Command = {
  words: ['incident', 'status'],
  summary: 'open incidents with severity, age, owner and state',
  section: SECTION,
  group: 'Incidents',
  async run(deps) {
    return statusMessage(await openIncidents(deps.store), deps.now());
  },
};

export const incidentTimelineCommand: Command = {
  words: ['incident', 'timeline'],
  usage: '[incident]',
  summary: 'everything that happened in an incident, with time and actor (the latest incident when none is named)',
  section: `${SECTION} › 6. Post-Mortem`,
  group: 'Incidents',
  private: true,
  async run(deps, req) {
    const incident = await incidentFrom(deps.store, req.args[0], '/dmp incident timeline [incident]');
    return timelineMessage(incident, await timelineOf(deps.store, incident.id));
  },
};

export const incidentStatsCommand: Command = {
  words: ['incident', 'stats'],
  usage: '[7d|30d|90d]',
  summary: 'how incidents went: MTTA, time to mitigate and MTTR per severity, counts per service and procedure',
  section: `${SECTION} › 6. Post-Mortem`,
  group: 'Incidents',
  async run(deps, req) {
    const arg = (req.args[0] ?? '30d').toLowerCase();
    if (!(arg in STATS_WINDOWS))
      throw new UserError('`/dmp incident stats [7d|30d|90d]` takes one of `7d`, `30d` or `90d` (30d when none).');
    const stats = await incidentStats(deps.store, arg as StatsWindow, deps.now());
    const message = statsMessage(stats);
    if (!stats.incidents) return message;
    try {
      const { png } = await statsChartPng(stats);
      return {
        ...message,
        files: [{ filename: `incident-stats-${arg}.png`, title: `Incidents, last ${arg}`, content: '', data: png }],
      };
    } catch (err) {
      deps.log.warn({ err }, 'could not draw the stats chart');
      return { ...message, blocks: [...message.blocks, context('The chart could not be drawn this time.')] };
    }
  },
};

export const postmortemCommand: Command = {
  words: ['postmortem'],
  usage: '<incident>',
  summary: 'the post-mortem of a resolved incident: timeline, durations, root cause, action items, learnings',
  section: `${SECTION} › 6. Post-Mortem`,
  group: 'Incidents',
  private: true,
  async run(deps, req) {
    if (!req.args[0])
      throw new UserError([code('/dmp postmortem <incident>'), ' takes a PagerDuty incident ID or number.']);
    const incident = await incidentFrom(deps.store, req.args[0], '/dmp postmortem <incident>');
    // Follow-up issues closed on GitHub since last time show as closed.
    await refreshFollowupStates(deps, incident.id);
    const pm = await getPostmortem(deps.store, incident.id);
    if (!pm)
      throw new UserError([
        'Incident ',
        code(incident.id),
        ` (${incident.title}) is not resolved yet: its post-mortem opens when it is.`,
      ]);
    const message = postmortemMessage(incident, pm, await timelineOf(deps.store, incident.id), {
      addFollowup: followupsConfigured(deps.config),
    });
    const chart = await postmortemChartFile(incident, pm).catch((err: unknown) => {
      deps.log.warn({ err }, 'could not draw the post-mortem chart');
      return undefined;
    });
    return chart ? { ...message, files: [...(message.files ?? []), chart] } : message;
  },
};

/** A Slack user mention as the slash command carries it (`<@U123|lee>`, `<@U123>`), or a bare user id. */
const MENTION = /^(?:<@)?([UW][A-Z0-9]{2,20})(?:\|([^>]*))?>?$/;
const EMAIL = /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/;

/** The person a role command names: a mention, a user id, or an email Slack knows (users.lookupByEmail). */
async function personNamed(
  deps: Parameters<Command['run']>[0],
  arg: string,
  usage: string,
): Promise<{ slackId: string; name?: string }> {
  const m = MENTION.exec(arg);
  if (m?.[1]) return { slackId: m[1], ...(m[2] ? { name: m[2] } : {}) };
  if (EMAIL.test(arg) && deps.slackUserByEmail) {
    const id = await deps.slackUserByEmail(arg).catch(() => undefined);
    if (id) return { slackId: id, name: arg.split('@')[0] as string };
    throw new UserError(['I found no Slack user with the email ', code(arg.slice(0, 80)), '.']);
  }
  const typed = arg.startsWith('@') ? arg : `@${arg}`;
  throw new UserError([
    code(usage),
    ' takes a Slack mention of the person, like ',
    code('@alice'),
    " picked from Slack's list (or their email); ",
    code(typed.slice(0, 80)),
    ' is no one Slack knows.',
  ]);
}

function roleCommand(word: string, role: Role): Command {
  const usage = `/dmp incident ${word} @person [incident]`;
  return {
    words: ['incident', word],
    usage: '@person [incident]',
    summary: `make someone the ${ROLE_NAME[role]} of an incident (the latest open one when none is named)`,
    section: SECTION,
    group: 'Incidents',
    async run(deps, req) {
      if (!req.args[0])
        throw new UserError([code(usage), ' takes a Slack mention of the person, like ', code('@alice'), '.']);
      const who = await personNamed(deps, req.args[0], usage);
      const incident = await incidentFrom(deps.store, req.args[1], usage);
      const by = { slackId: req.userId, ...(req.userName ? { name: req.userName } : {}) };
      const result = await assignRole(deps, incident.id, by, role, who);
      deps.wakeIncidents?.();
      const text = renderRich(result.text);
      return { text, blocks: [section(text)] };
    },
  };
}

export const incidentLeadCommand = roleCommand('lead', 'commander');
export const incidentCommsCommand = roleCommand('comms', 'comms');

export const oncallCommand: Command = {
  words: ['oncall'],
  usage: '[policy or service]',
  summary: 'who is on call now in PagerDuty, per escalation policy and level, and until when',
  section: SECTION,
  group: 'Incidents',
  async run(deps, req) {
    const filter = req.args.join(' ').trim() || undefined;
    const lookup = deps.slackUserByEmail;
    const policies = await whoIsOnCall(pacedPagerDuty(deps), filter, lookup ? (email) => lookup(email) : undefined);
    return oncallMessage(policies, filter);
  },
};

export const incidentCommands: Command[] = [
  incidentDeclareCommand,
  oncallCommand,
  incidentLeadCommand,
  incidentCommsCommand,
  incidentStatusCommand,
  incidentTimelineCommand,
  incidentStatsCommand,
  postmortemCommand,
];
