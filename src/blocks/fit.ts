// The one fitting step every outgoing payload goes through (src/handlers/slack-client.ts calls
// it for each chat.*, views.* and response_url request, ackBody for acks): Slack's limits kept
// without losing anything. A long section becomes several, split on line boundaries; what still
// does not fit in a message (50 blocks, ~12 000 characters) is handed back as `overflow`, for a
// file the message then names. The limits are Slack's Block Kit reference's (docs/slack-conformance.md).

type Obj = Record<string, unknown>;

export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  /** Slack refuses messages whose block text adds up past about 12 000 characters. */
  messageChars: 12_000,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  optionText: 75,
  optionValue: 150,
  selectOptions: 100,
  overflowOptions: 5,
  placeholder: 150,
  /** A notification text beside blocks: long enough for any summary, far under Slack's 40 000. */
  fallbackText: 3000,
  /** A message of text alone. */
  textOnly: 12_000,
} as const;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Cuts at most `max` characters off the front of `text`, at a line end, else a space, never inside <…> or an entity. */
function cutPoint(text: string, max: number): number {
  if (text.length <= max) return text.length;
  const window = text.slice(0, max);
  let at = window.lastIndexOf('\n');
  if (at < max / 2) at = window.lastIndexOf(' ');
  if (at < max / 2) at = max;
  const open = text.lastIndexOf('<', at - 1);
  if (open >= 0 && text.indexOf('>', open) >= at && open > 0) at = open;
  const amp = text.lastIndexOf('&', at - 1);
  if (amp >= 0 && amp > at - 6 && !text.slice(amp, at).includes(';')) at = amp;
  return Math.max(1, at);
}

/** Splits mrkdwn into pieces of at most `max` characters on line boundaries, keeping ``` fences balanced. */
export function splitText(text: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = text;
  let reopen = false;
  while (rest.length > 0) {
    const budget = max - (reopen ? 4 : 0) - 4;
    const at = rest.length + (reopen ? 4 : 0) <= max ? rest.length : cutPoint(rest, budget);
    let piece: string = (reopen ? '```\n' : '') + rest.slice(0, at);
    rest = rest.slice(at).replace(/^\n/, '');
    const fences: number = (piece.match(/```/g) ?? []).length;
    reopen = fences % 2 === 1 && rest.length > 0;
    if (reopen) piece += '\n```';
    pieces.push(piece);
  }
  return pieces.length ? pieces : [''];
}

/** Cuts a one-line label (a button, an option, a header) to `max`, with an ellipsis. */
export function cutLabel(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function clampText<T>(t: T, max: number): T {
  if (!isObj(t) || typeof t.text !== 'string' || t.text.length <= max) return t;
  return { ...t, text: cutLabel(t.text, max) } as T;
}

function clampOption(o: unknown): unknown {
  if (!isObj(o)) return o;
  const out: Obj = { ...o, text: clampText(o.text, LIMITS.optionText) };
  if (o.description !== undefined) out.description = clampText(o.description, LIMITS.optionText);
  return out;
}

function clampElement(e: unknown): unknown {
  if (!isObj(e)) return e;
  const out: Obj = { ...e };
  if (e.placeholder !== undefined) out.placeholder = clampText(e.placeholder, LIMITS.placeholder);
  if (e.type === 'button') out.text = clampText(e.text, LIMITS.buttonText);
  if (Array.isArray(e.options)) {
    const max = e.type === 'overflow' ? LIMITS.overflowOptions : LIMITS.selectOptions;
    out.options = e.options.slice(0, max).map(clampOption);
  }
  if (e.initial_option !== undefined) out.initial_option = clampOption(e.initial_option);
  if (e.type === 'mrkdwn' || e.type === 'plain_text') return clampText(e, LIMITS.sectionText);
  return out;
}

/** One block as one or more that keep each block's own limits; nothing is dropped. */
function splitBlock(block: unknown): unknown[] {
  if (!isObj(block)) return [block];
  const withoutId = ({ block_id: _id, ...rest }: Obj): Obj => rest;
  switch (block.type) {
    case 'section': {
      const out: Obj[] = [];
      const text = isObj(block.text) && typeof block.text.text === 'string' ? block.text : undefined;
      const pieces = text ? splitText(text.text as string, LIMITS.sectionText) : [];
      pieces.forEach((piece, i) => {
        const b: Obj = i === 0 ? { ...block } : { type: 'section' };
        b.text = { ...text, text: piece };
        if (i > 0) delete b.fields;
        if (i > 0) delete b.accessory;
        out.push(b);
      });
      if (!text) out.push({ ...block });
      const first = out[0] as Obj;
      const fields = Array.isArray(block.fields) ? block.fields : undefined;
      if (fields) {
        // Fields past ten go to sections of their own; a field past 2000 characters is split too.
        const all = fields.flatMap((f) =>
          isObj(f) && typeof f.text === 'string'
            ? splitText(f.text, LIMITS.fieldText).map((t) => ({ ...f, text: t }))
            : [f],
        );
        first.fields = all.slice(0, LIMITS.sectionFields);
        for (let i = LIMITS.sectionFields; i < all.length; i += LIMITS.sectionFields)
          out.push({ type: 'section', fields: all.slice(i, i + LIMITS.sectionFields) });
      }
      if (first.accessory !== undefined) first.accessory = clampElement(first.accessory);
      return out;
    }
    case 'header':
      return [{ ...block, text: clampText(block.text, LIMITS.headerText) }];
    case 'context': {
      const elements = Array.isArray(block.elements) ? block.elements.map(clampElement) : [];
      const out: Obj[] = [];
      for (let i = 0; i < elements.length; i += LIMITS.contextElements) {
        const part = elements.slice(i, i + LIMITS.contextElements);
        out.push(i === 0 ? { ...block, elements: part } : { ...withoutId(block), elements: part });
      }
      return out.length ? out : [block];
    }
    case 'actions': {
      const elements = Array.isArray(block.elements) ? block.elements.map(clampElement) : [];
      const out: Obj[] = [];
      for (let i = 0; i < elements.length; i += LIMITS.actionsElements) {
        const part = elements.slice(i, i + LIMITS.actionsElements);
        out.push(i === 0 ? { ...block, elements: part } : { ...withoutId(block), elements: part });
      }
      return out.length ? out : [block];
    }
    case 'input':
      return [{ ...block, ...(block.element !== undefined ? { element: clampElement(block.element) } : {}) }];
    default:
      return [block];
  }
}

/** Every block within its own limits, split where needed; nothing dropped. */
export function splitBlocks(blocks: unknown[]): unknown[] {
  return blocks.flatMap(splitBlock);
}

/** Characters of text in a block, counted as Slack counts them toward a message's total. */
export function blockChars(block: unknown): number {
  if (Array.isArray(block)) return block.reduce((n: number, b) => n + blockChars(b), 0);
  if (!isObj(block)) return 0;
  let n = 0;
  for (const [key, value] of Object.entries(block)) {
    if (key === 'text' && typeof value === 'string') n += value.length;
    else if (typeof value === 'object') n += blockChars(value);
  }
  return n;
}

/** A block as plain lines, for a file or a text-only message (mrkdwn stays as it is). */
export function blockLines(block: unknown): string[] {
  if (!isObj(block)) return [];
  const text = (t: unknown): string | undefined => (isObj(t) && typeof t.text === 'string' ? t.text : undefined);
  switch (block.type) {
    case 'header':
    case 'section': {
      const lines = [text(block.text)].filter((t): t is string => t !== undefined);
      if (block.type === 'header' && lines[0]) lines[0] = `*${lines[0]}*`;
      if (Array.isArray(block.fields)) lines.push(...block.fields.map(text).filter((t): t is string => !!t));
      return lines;
    }
    case 'context':
      return [
        (Array.isArray(block.elements) ? block.elements.map(text) : []).filter((t): t is string => !!t).join(' · '),
      ].filter(Boolean);
    case 'rich_text':
      return [];
    default:
      return [];
  }
}

/** mrkdwn to what a text file shows: entities decoded, links and mentions readable. */
export function mrkdwnToPlain(text: string): string {
  return text
    .replace(/<(https?:\/\/[^|>]+)\|([^>]*)>/g, '$2 ($1)')
    .replace(/<(https?:\/\/[^>]+)>/g, '$1')
    .replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<#([CG][A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, name?: string) => `#${name ?? id}`)
    .replace(/<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>/g, (_m, id: string, name?: string) => name ?? `@${id}`)
    .replace(/<!date\^[^|>]*\|([^>]*)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export interface FittedBlocks {
  blocks: unknown[];
  /** What did not fit, as mrkdwn lines; the caller puts it in a file and names it in a note. */
  overflow: string[];
}

/** Room kept for the note that names the file. */
const NOTE_RESERVE = 400;

/** Every block within its limits, and the list within the surface's block count and (messages) text total. */
export function fitBlockList(blocks: unknown[], surface: 'message' | 'view'): FittedBlocks {
  const split = blocks.flatMap(splitBlock);
  const maxBlocks = surface === 'view' ? LIMITS.viewBlocks : LIMITS.messageBlocks;
  const maxChars = surface === 'view' ? Number.POSITIVE_INFINITY : LIMITS.messageChars;
  if (split.length <= maxBlocks && blockChars(split) <= maxChars) return { blocks: split, overflow: [] };
  const kept: unknown[] = [];
  let chars = 0;
  let i = 0;
  for (; i < split.length; i++) {
    const size = blockChars(split[i]);
    if (kept.length >= maxBlocks - 1 || chars + size > maxChars - NOTE_RESERVE) break;
    kept.push(split[i]);
    chars += size;
  }
  // Inputs and actions are controls, not content: a view keeps them; a message's file cannot hold them.
  const overflow = split.slice(i).flatMap(blockLines);
  return { blocks: kept, overflow };
}

/** Fallback text of at most `max` characters; the rest is in the blocks or a file. */
export function fitText(text: string, max: number): { text: string; overflow: string[] } {
  if (text.length <= max) return { text, overflow: [] };
  const at = cutPoint(text, max - 60);
  return { text: `${text.slice(0, at)}\n…`, overflow: [text.slice(at).replace(/^\n/, '')] };
}

export interface FittedMessage {
  payload: Obj;
  /** Text for a file the message names (mrkdwn), when something did not fit. */
  overflow?: string;
}

/** A chat.* or response_url payload (text, blocks) within Slack's limits. */
export function fitMessage(payload: Obj): FittedMessage {
  const out: Obj = { ...payload };
  const overflow: string[] = [];
  const hasBlocks = Array.isArray(payload.blocks) && payload.blocks.length > 0;
  if (Array.isArray(payload.blocks)) {
    const fitted = fitBlockList(payload.blocks, 'message');
    out.blocks = fitted.blocks;
    overflow.push(...fitted.overflow);
  }
  if (typeof payload.text === 'string') {
    const fitted = fitText(payload.text, hasBlocks ? LIMITS.fallbackText : LIMITS.textOnly);
    out.text = fitted.text;
    // Beside blocks the text only repeats them; alone it is the message, so nothing of it is lost.
    if (!hasBlocks) overflow.push(...fitted.overflow);
  }
  return overflow.length ? { payload: out, overflow: overflow.join('\n') } : { payload: out };
}

/** A view within its limits (100 blocks; each block's own). */
export function fitView(view: Obj): Obj {
  if (!Array.isArray(view.blocks)) return view;
  const fitted = fitBlockList(view.blocks, 'view');
  if (fitted.overflow.length === 0) return { ...view, blocks: fitted.blocks };
  const more = fitted.overflow.length;
  return {
    ...view,
    blocks: [
      ...fitted.blocks,
      { type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${more} more line${more === 1 ? '' : 's'}` }] },
    ],
  };
}

/** The note a fitted message ends with, naming the file that holds the rest. */
export function overflowNote(where: string): Obj {
  return {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `:page_facing_up: The rest did not fit in one message: ${where}.` }],
  };
}

/** The text-only version sent when Slack refuses the blocks: every block's text, within the limit. */
export function textOnly(payload: Obj): { text: string; overflow: string[] } {
  const lines = Array.isArray(payload.blocks) ? payload.blocks.flatMap(blockLines) : [];
  const text = lines.length ? lines.join('\n') : typeof payload.text === 'string' ? payload.text : '';
  return fitText(text || '(empty message)', LIMITS.fallbackText);
}
