// The stats answer's picture and the post-mortem's key-signal chart, rendered in-process: a Vega-Lite spec (the maintained declarative
// charting library behind Vega) compiled to SVG with Vega's headless view, then rasterised to PNG
// by resvg (@resvg/resvg-js: Rust's resvg with prebuilt binaries published as npm platform
// packages, so nothing is downloaded at install and it runs offline; no canvas, no browser).
// All three are loaded on the first chart (dynamic import), not when the bot starts: together
// they are hundreds of modules that most runs never draw with.
import { crc32 } from 'node:zlib';
import type { TopLevelSpec } from 'vega-lite';
import type { SignalSeries } from '../incidents/signals.js';
import type { IncidentStats } from '../incidents/stats.js';

export interface ChartData {
  /** Median minutes to acknowledge and to resolve per week (Monday, UTC). */
  weeks: Array<{ week: string; measure: 'MTTA' | 'MTTR'; minutes: number }>;
  procedures: Array<{ procedure: string; incidents: number }>;
}

export function chartData(st: IncidentStats): ChartData {
  const minutes = (ms: number) => Math.round(ms / 600) / 100;
  return {
    weeks: st.byWeek.flatMap((w) => {
      const week = w.weekStart.toISOString().slice(0, 10);
      return [
        ...(w.toAcknowledgeMedianMs === undefined
          ? []
          : [{ week, measure: 'MTTA' as const, minutes: minutes(w.toAcknowledgeMedianMs) }]),
        ...(w.toResolveMedianMs === undefined
          ? []
          : [{ week, measure: 'MTTR' as const, minutes: minutes(w.toResolveMedianMs) }]),
      ];
    }),
    procedures: st.byProcedure.map((p) => ({ procedure: p.name, incidents: p.count })),
  };
}

function spec(st: IncidentStats, data: ChartData): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Incidents, last ${st.window}`,
    background: 'white',
    config: { font: 'DejaVu Sans', view: { stroke: null } },
    vconcat: [
      {
        title: 'Median MTTA and MTTR per week (minutes)',
        width: 520,
        height: 200,
        data: { values: data.weeks },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'week', type: 'ordinal', title: 'week of', axis: { labelAngle: 0 } },
          xOffset: { field: 'measure' },
          y: { field: 'minutes', type: 'quantitative', title: 'minutes' },
          color: { field: 'measure', type: 'nominal', title: null },
        },
      },
      {
        title: 'Incidents per runbook procedure',
        width: 520,
        height: { step: 22 },
        data: { values: data.procedures },
        mark: { type: 'bar', color: '#4c78a8' },
        encoding: {
          y: { field: 'procedure', type: 'nominal', sort: '-x', title: null },
          x: { field: 'incidents', type: 'quantitative', title: 'incidents', axis: { tickMinStep: 1 } },
        },
      },
    ],
  };
}

async function toSvg(s: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(s).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function statsChartSvg(st: IncidentStats, data = chartData(st)): Promise<string> {
  return toSvg(spec(st, data));
}

async function toPng(svg: string, data: unknown): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const drawn = new Resvg(svg, {
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  // tEXt is Latin-1: anything beyond ASCII travels as JSON's \u escapes.
  const json = JSON.stringify(data).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return withText(drawn, CHART_DATA_KEY, json);
}

export async function statsChartPng(st: IncidentStats): Promise<{ png: Buffer; data: ChartData }> {
  const data = chartData(st);
  return { png: await toPng(await statsChartSvg(st, data), data), data };
}

/** The points the post-mortem's chart draws: ISO time, value, what sampled it. */
export interface SignalChartData {
  signal: string;
  unit: string;
  points: Array<{ at: string; value: number; sampledBy: string }>;
}

export function signalChartData(s: SignalSeries): SignalChartData {
  return {
    signal: s.signal.name,
    unit: s.signal.unit,
    points: s.points.map((p) => ({ at: p.at.toISOString(), value: p.value, sampledBy: p.label })),
  };
}

/**
 * The incident's key signal over the incident (one point per diagnosis and verification), with
 * the moments it was acknowledged, mitigated and resolved as rules when they are known.
 */
export async function signalChartPng(
  s: SignalSeries,
  opts: { title: string; marks?: Array<{ at: Date; label: string }> },
): Promise<{ png: Buffer; data: SignalChartData }> {
  const data = signalChartData(s);
  const marks = (opts.marks ?? []).map((m) => ({ at: m.at.toISOString(), label: m.label }));
  const y = {
    field: 'value',
    type: 'quantitative' as const,
    title: `${data.signal} (${data.unit})`,
    axis: { tickMinStep: 1 },
  };
  const x = { field: 'at', type: 'temporal' as const, title: 'UTC', axis: { format: '%H:%M', labelAngle: 0 } };
  const chart: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: opts.title.slice(0, 120), subtitle: `${data.signal} over the incident` },
    background: 'white',
    width: 560,
    height: 240,
    config: { font: 'DejaVu Sans', view: { stroke: null } },
    layer: [
      {
        data: { values: data.points },
        mark: {
          type: 'line',
          point: { size: 60, filled: true, color: '#d62728' },
          color: '#d62728',
          interpolate: 'step-after',
        },
        encoding: { x, y },
      },
      {
        data: { values: data.points },
        mark: { type: 'text', dy: -10, dx: 8, fontSize: 11 },
        encoding: { x, y, text: { field: 'value', type: 'quantitative' } },
      },
      ...(marks.length
        ? ([
            {
              data: { values: marks },
              mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
              encoding: { x: { field: 'at', type: 'temporal' } },
            },
            {
              data: { values: marks },
              mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, y: 2, fontSize: 10, color: '#555' },
              encoding: { x: { field: 'at', type: 'temporal' }, text: { field: 'label' } },
            },
          ] as const)
        : []),
    ],
  } as TopLevelSpec;
  return { png: await toPng(await toSvg(chart), data), data };
}

/** The tEXt keyword under which the PNG carries the numbers it draws (readers can check them). */
export const CHART_DATA_KEY = 'dmp-chart-data';

/** Inserts a PNG tEXt chunk right after IHDR (8-byte signature + 25-byte IHDR chunk). */
function withText(png: Buffer, keyword: string, text: string): Buffer {
  const body = Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]);
  const type = Buffer.from('tEXt', 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, body])) >>> 0);
  return Buffer.concat([png.subarray(0, 33), len, type, body, crc, png.subarray(33)]);
}
