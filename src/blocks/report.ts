// Renders a procedure's report: a header with the verdict, one line per finding with its
// status emoji, details in context blocks, the Grafana dashboard, the next step last.
import type { Button, KnownBlock } from '@slack/types';
import type { Finding, NextStep, Report, Status } from '../runbooks/types.js';
import { type RemedyButtonValue, remedyActionId } from './ids.js';
import { cutLines, fitBlocks } from './limits.js';
import { context, esc, header, type Message, type OutFile, STATUS_EMOJI, section } from './message.js';
import { renderRich } from './mrkdwn.js';

const VERDICT: Record<Status, string> = {
  ok: 'all clear',
  warn: 'needs attention',
  critical: 'action needed',
  unknown: 'incomplete',
};

const DETAIL_LINES = 12;

export interface ReportOptions {
  grafanaUrl?: string;
}

/** A finding's summary as mrkdwn: plain text escaped, mentions and links in Slack's syntax. */
export function renderSummary(summary: Finding['summary']): string {
  return typeof summary === 'string' ? esc(summary) : renderRich(summary);
}

export function findingLine(f: Finding): string {
  return `${STATUS_EMOJI[f.status]} *${esc(f.check)}*: ${renderSummary(f.summary)}`;
}

export function reportMessage(report: Report, opts: ReportOptions = {}): Message {
  // Reference tables (severity levels, contacts) have no verdict to announce.
  const reference = report.procedure.group === 'Reference';
  const blocks: KnownBlock[] = [
    header(reference ? report.procedure.title : `${report.procedure.title}: ${VERDICT[report.verdict]}`),
  ];
  const files: OutFile[] = [];
  for (const f of report.findings) {
    blocks.push(section(findingLine(f)));
    if (f.details?.length) {
      blocks.push(context(esc(cutLines(f.details, 1900, DETAIL_LINES))));
      if (f.details.length > DETAIL_LINES) {
        files.push({
          filename: `${report.procedure.id}-${slug(f.check)}.txt`,
          title: `${report.procedure.title}: ${f.check}`,
          content: f.details.join('\n'),
        });
      }
    }
    if (f.attachment)
      files.push({
        filename: `${report.procedure.id}-${slug(f.attachment.title)}.txt`,
        title: f.attachment.title,
        content: f.attachment.text,
      });
  }
  const footer = [`Runbook: ${esc(report.procedure.section)}`, `${report.durationMs} ms`];
  if (report.procedure.dashboard && opts.grafanaUrl)
    footer.unshift(`<${dashboardUrl(opts.grafanaUrl, report.procedure.dashboard)}|Dashboard>`);
  blocks.push(context(footer.join(' · ')));
  const guidance = report.procedure.guidance ?? [];
  if (guidance.length && (report.verdict === 'warn' || report.verdict === 'critical')) {
    blocks.push(context(`The runbook also says: ${guidance.map((g) => esc(g)).join(' · ')}`));
  }
  if (report.nextSteps.length) blocks.push(...nextStepBlocks(report.nextSteps));
  const counts = countByStatus(report.findings);
  return {
    text: reference ? report.procedure.title : `${report.procedure.title}: ${VERDICT[report.verdict]} (${counts})`,
    blocks: fitBlocks(blocks),
    files: files.length ? files : undefined,
  };
}

export function nextStepBlocks(steps: NextStep[]): KnownBlock[] {
  const lines = steps.map((s) => `• *${esc(s.label)}*: ${esc(s.reason)}`);
  const buttons: Button[] = steps.slice(0, 5).map((s, i) => {
    const value: RemedyButtonValue = { remedy: s.remedy, params: s.params };
    return {
      type: 'button',
      action_id: `${remedyActionId(s.remedy)}:${i}`,
      text: { type: 'plain_text', text: s.label.slice(0, 75), emoji: true },
      value: JSON.stringify(value),
      ...(i === 0 ? { style: 'primary' as const } : {}),
    };
  });
  return [
    section(`*Next step${steps.length > 1 ? 's' : ''}*\n${lines.join('\n')}`),
    { type: 'actions', block_id: 'next_steps', elements: buttons },
  ];
}

export function dashboardUrl(grafanaUrl: string, path: string): string {
  const base = grafanaUrl.replace(/\/+$/, '');
  return path.startsWith('/grafana') && base.endsWith('/grafana')
    ? `${base}${path.slice('/grafana'.length)}`
    : `${base}${path}`;
}

function countByStatus(findings: Finding[]): string {
  const order: Status[] = ['critical', 'warn', 'unknown', 'ok'];
  return order
    .map((s) => [s, findings.filter((f) => f.status === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
