// `/dmp sandbox` and `/dmp sandbox page [scenario]`: registered only by the sandbox. Paging
// has the simulated PagerDuty deliver a signed v3 `incident.triggered` webhook to the bot's
// own POST /pagerduty/webhook, so the incident runs exactly as a real page would.
import { context, esc, header, section } from '../src/blocks/message.js';
import type { Command } from '../src/commands/types.js';
import { UserError } from '../src/errors.js';
import { type SimulatedPlatform, UnknownScenario } from './platform.js';
import { SCENARIOS } from './scenarios.js';

const USAGE = SCENARIOS.map((s) => s.id).join('|');

export function sandboxCommands(
  platform: SimulatedPlatform,
  opts: { incidentsChannel?: string; incidentsChannelName?: string },
): Command[] {
  const id = opts.incidentsChannel;
  const channel = id
    ? `<#${id}${opts.incidentsChannelName ? `|${opts.incidentsChannelName}` : ''}>`
    : 'INCIDENTS_CHANNEL';
  const about: Command = {
    words: ['sandbox'],
    summary: 'what this sandbox simulates, and the pages it can send',
    section: 'Sandbox',
    group: 'Bot',
    async run() {
      const lines = platform.describe().map((l) => `• ${esc(l)}`);
      const pages = SCENARIOS.map((s) => `• \`/dmp sandbox page ${s.id}\` — ${esc(s.blurb)}`);
      return {
        text: `Sandbox: a simulated DMP platform. ${platform.describe().join(' ')}`,
        blocks: [
          header('Sandbox: a simulated DMP platform in trouble'),
          section(`*Simulated in this process*\n${lines.join('\n')}`),
          section(`*Pages PagerDuty can send* (the incident thread appears in ${channel})\n${pages.join('\n')}`),
          context(
            'Remediations change the simulation for real: restart or scale scan-workers, mark a scan failed, terminate a query, create the index — then diagnose again.',
          ),
        ],
      };
    },
  };

  const page: Command = {
    words: ['sandbox', 'page'],
    usage: `[${USAGE}]`,
    summary: 'has the simulated PagerDuty page: a signed incident.triggered webhook to this bot',
    section: 'Sandbox',
    group: 'Incidents',
    async run(_deps, req) {
      let result: Awaited<ReturnType<SimulatedPlatform['page']>>;
      try {
        result = await platform.page(req.args);
      } catch (err) {
        if (err instanceof UnknownScenario)
          throw new UserError(
            `There is no sandbox page \`${err.words}\`. Try one of: ${SCENARIOS.map((s) => `\`${s.id}\``).join(', ')}.`,
          );
        throw new UserError(`PagerDuty could not page: ${err instanceof Error ? err.message : String(err)}.`);
      }
      const { scenario, incident } = result;
      const service = incident.service.name;
      const delivered = result.status !== undefined && result.status < 300;
      const outcome = delivered
        ? `PagerDuty delivered a signed \`incident.triggered\` webhook to \`POST /pagerduty/webhook\`: HTTP ${result.status}. The incident thread follows in ${channel}.`
        : `PagerDuty could not deliver the webhook to \`POST /pagerduty/webhook\`: ${result.status !== undefined ? `HTTP ${result.status}` : esc(result.error ?? 'no answer')}.`;
      return {
        text: `Paged: [#${incident.incident_number}] ${incident.title} (${scenario.priority}, ${service}). ${delivered ? `The incident thread follows in ${channel}.` : 'The webhook was not delivered.'}`,
        blocks: [
          section(
            `:rotating_light: *Paged (simulated PagerDuty):* [#${incident.incident_number}] ${esc(incident.title)}\n${esc(service)} · priority ${scenario.priority} · urgency ${incident.urgency} · incident \`${incident.id}\``,
          ),
          context(outcome),
        ],
      };
    },
  };
  const statuspage: Command = {
    words: ['sandbox', 'statuspage'],
    summary: 'the simulated public status page: the incidents the bot opened there, their status and components',
    section: 'Sandbox',
    group: 'Incidents',
    async run() {
      const sp = platform.statuspage;
      const incidents = [...sp.incidents.values()].reverse();
      const components = [...sp.components.values()].map((c) => `${esc(c.name)}: ${c.status}`).join(' · ');
      const lines = incidents.map((i) => {
        const latest = i.incident_updates[0];
        const affected = i.component_ids.map((id) => sp.components.get(id)?.name ?? id).join(', ');
        return `• *${esc(i.name)}* — ${i.status} (impact ${i.impact})${affected ? ` · ${esc(affected)}` : ''} · ${i.incident_updates.length} update${i.incident_updates.length === 1 ? '' : 's'}${latest?.body ? `\n    latest: ${esc(latest.body)}` : ''}\n    ${i.shortlink}`;
      });
      return {
        text: `Status page: ${incidents.length} incident${incidents.length === 1 ? '' : 's'}. Components: ${components}`,
        blocks: [
          header('Simulated status page'),
          section(`*Components*\n${components || 'none'}`),
          section(
            lines.length
              ? `*Incidents* (newest first)\n${lines.slice(0, 10).join('\n')}`
              : '*Incidents*\nNone yet: press *Status page* on an incident to open one.',
          ),
          context('What the public would read: created and updated by the bot through the Statuspage REST API.'),
        ],
      };
    },
  };
  return [about, page, statuspage];
}
