// `/dmp incident stats` in Block Kit: MTTA, time to mitigate and MTTR per severity (median and
// 90th percentile, to the second), counts per service and procedure, out-of-hours pages,
// remediations and their verifications, follow-ups.
import type { KnownBlock } from '@slack/types';
import type { IncidentStats, Spread } from '../incidents/stats.js';
import { WORKING_HOURS_UTC } from '../incidents/stats.js';
import { cutLines } from './limits.js';
import { context, esc, header, type Message, section } from './message.js';

/** Every unit down to the second (`1h 2m 3s`): these figures are compared to the second. */
export function exactDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  const s = total % 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', s || (!d && !h && !m) ? `${s}s` : ''];
  return parts.filter(Boolean).join(' ');
}

export function spreadText(s: Spread): string {
  if (s.medianMs === undefined || s.p90Ms === undefined) return 'n/a';
  return `median ${exactDuration(s.medianMs)}, p90 ${exactDuration(s.p90Ms)} (${s.count})`;
}

/** The same figures as lines, for the console's table and the message alike. */
export function severityRows(st: IncidentStats): string[][] {
  return st.bySeverity.map((s) => [
    s.severity,
    String(s.incidents),
    spreadText(s.toAcknowledge),
    spreadText(s.toMitigate),
    spreadText(s.toResolve),
  ]);
}

/** The per-severity figures as a fixed-width table (Slack shows it in a code block, the console as is). */
export function statsTable(st: IncidentStats): string {
  const rows = [['sev', 'n', 'MTTA', 'to mitigate', 'MTTR'], ...severityRows(st)];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join(' | ')
        .trimEnd(),
    )
    .join('\n');
}

/** `3 run in incident threads (2 succeeded); verification green after 1 of 2` */
export function remediationsLine(st: IncidentStats): string {
  const r = st.remediations;
  return `${r.run} run in incident threads (${r.succeeded} succeeded); verification green after ${r.verifiedGreen} of ${r.verified}`;
}

export function statsMessage(st: IncidentStats): Message {
  const blocks: KnownBlock[] = [header(`Incidents, last ${st.window}`)];
  if (!st.incidents) {
    blocks.push(section(`No incidents since ${st.since.toISOString().slice(0, 10)}.`));
    return { text: `No incidents in the last ${st.window}`, blocks };
  }
  blocks.push(
    section(
      `*${st.incidents} incident${st.incidents === 1 ? '' : 's'}* since ${st.since.toISOString().slice(0, 10)} · ${st.outOfHours} paged out of hours (outside ${WORKING_HOURS_UTC.from}:00–${WORKING_HOURS_UTC.to}:00 UTC on weekdays)`,
    ),
  );
  for (const s of st.bySeverity)
    blocks.push(
      section(
        `*${s.severity}* (${s.incidents})\n• MTTA: ${spreadText(s.toAcknowledge)}\n• Time to mitigate: ${spreadText(s.toMitigate)}\n• MTTR: ${spreadText(s.toResolve)}`,
      ),
    );
  blocks.push(section(`\`\`\`\n${statsTable(st)}\n\`\`\``));
  blocks.push({
    type: 'section',
    fields: [
      `*Per service*\n${cutLines(
        st.byService.map((x) => `${esc(x.name)}: ${x.count}`),
        1900,
        10,
      )}`,
      `*Per runbook procedure*\n${cutLines(
        st.byProcedure.map((x) => `${esc(x.name)}: ${x.count}`),
        1900,
        10,
      )}`,
      `*Remediations*\n${remediationsLine(st)}`,
      `*Follow-ups*\n${st.followups.open} open, ${st.followups.closed} closed${st.followups.pending ? `, ${st.followups.pending} being filed` : ''}`,
    ].map((text) => ({ type: 'mrkdwn' as const, text })),
  });
  blocks.push(
    context(
      "From PagerDuty's times: created → first acknowledged / resolved event; time to mitigate → first verification with nothing critical.",
    ),
  );
  const text = `Incidents, last ${st.window}: ${st.incidents}; ${st.bySeverity
    .map((s) => `${s.severity} MTTA ${spreadText(s.toAcknowledge)}, MTTR ${spreadText(s.toResolve)}`)
    .join('; ')}`;
  return { text, blocks };
}
