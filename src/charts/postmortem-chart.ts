// The post-mortem's picture: the incident's key signal (queue depth, dead workers, connections)
// at each diagnosis and verification, uploaded beside the Markdown document that links it. The
// charting libraries load only when a chart is drawn (stats-chart.ts holds their imports).
import type { OutFile } from '../blocks/message.js';
import { type Postmortem, signalChartFilename } from '../incidents/postmortem.js';
import type { Incident } from '../incidents/types.js';

/** The chart file of a post-mortem whose diagnoses sampled a key signal; undefined when none did. */
export async function postmortemChartFile(i: Incident, pm: Postmortem): Promise<OutFile | undefined> {
  const series = pm.signal;
  if (!series?.points.length) return undefined;
  const { signalChartPng } = await import('./stats-chart.js');
  const marks = [
    i.acknowledgedAt ? { at: i.acknowledgedAt, label: 'acknowledged' } : undefined,
    pm.mitigation?.firstClearAt ? { at: pm.mitigation.firstClearAt, label: 'verified' } : undefined,
    i.resolvedAt ? { at: i.resolvedAt, label: 'resolved' } : undefined,
  ].filter((m): m is { at: Date; label: string } => m !== undefined);
  const { png } = await signalChartPng(series, { title: `${i.severity} · ${i.title}`, marks });
  return {
    filename: signalChartFilename(i, series),
    title: `${series.signal.name} over ${i.number ? `#${i.number}` : i.id}`,
    content: '',
    data: png,
  };
}
