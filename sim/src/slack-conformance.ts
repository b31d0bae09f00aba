// What a real workspace checks in a payload, and what it would show wrongly, from Slack's own
// references. `refusals` are what Slack answers with invalid_blocks / invalid_arguments /
// msg_too_long (in response_metadata.messages); `flags` are payloads Slack accepts but renders
// differently from what the sender meant (a `<` that forms no link, an `&` that is no entity, a
// broadcast): the fake records them as violations so a test fails on them.
//
// Rules, each with the page it comes from (docs.slack.dev):
// - Messages hold at most 50 blocks, modals and Home tabs 100.
//   https://docs.slack.dev/reference/block-kit/blocks
// - block_id: at most 255 characters, unique in a message or view. (same page)
// - section: text 1–3000 characters; fields at most 10, each at most 2000; text or fields.
//   https://docs.slack.dev/reference/block-kit/blocks/section-block
// - header: plain_text, at most 150 characters.
//   https://docs.slack.dev/reference/block-kit/blocks/header-block
// - context: 1–10 elements. https://docs.slack.dev/reference/block-kit/blocks/context-block
// - actions: at most 25 elements. https://docs.slack.dev/reference/block-kit/blocks/actions-block
// - input: label plain_text at most 2000, hint at most 2000, an element.
//   https://docs.slack.dev/reference/block-kit/blocks/input-block
// - action_id: at most 255 characters, unique in a block.
//   https://docs.slack.dev/reference/block-kit/block-elements
// - button: text plain_text at most 75, value at most 2000, url at most 3000, style primary|danger.
//   https://docs.slack.dev/reference/block-kit/block-elements/button-element
// - static_select: at most 100 options; placeholder at most 150.
//   https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element
// - overflow: 1–5 options. https://docs.slack.dev/reference/block-kit/block-elements/overflow-menu-element
// - option: text at most 75, value at most 150; in a select or overflow, plain_text.
//   https://docs.slack.dev/reference/block-kit/composition-objects/option-object
// - confirm dialog: title 100, text 300, confirm/deny 30.
//   https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object
// - text object: type plain_text or mrkdwn, text at least 1 character.
//   https://docs.slack.dev/reference/block-kit/composition-objects/text-object
// - modal: title 24, submit/close 24, private_metadata 3000, callback_id 255, a submit when
//   there are input blocks. https://docs.slack.dev/reference/views/modal-views (and the view object:
//   https://docs.slack.dev/reference/views)
// - chat.postMessage: channel required; text, blocks or attachments required (no_text); text
//   over 40,000 characters is msg_too_long. https://docs.slack.dev/reference/methods/chat.postMessage
//   Blocks whose text adds up past about 12,000 characters are refused as msg_too_long.
//   https://docs.slack.dev/messaging/formatting-message-text (the truncation note).
// - mrkdwn escaping: `&`, `<`, `>` are control characters and must travel as &amp; &lt; &gt;
//   unless they form a control sequence: <@U…>, <#C…>, <!subteam^S…>, <!date^…>, <!here>,
//   <!channel>, <!everyone>, <url>, <url|label>. Only those three entities are decoded; an
//   entity escaped twice (&amp;lt;) shows literally. `>` at a line's start is a quote.
//   https://docs.slack.dev/messaging/formatting-message-text#escaping
// - The bot never broadcasts (<!channel>, <!here>, <!everyone>): such a sequence in its text
//   is flagged, as it could only come from user text. (same page, "special mentions")
// - Uploads: files.getUploadURLExternal needs filename and length; completeUploadExternal
//   files[] with ids that were uploaded. https://docs.slack.dev/messaging/working-with-files#upload

type Obj = Record<string, unknown>;

export interface Finding {
  /** Slack's wording, ending with the JSON pointer: "must be less than 3001 characters [json-pointer:/blocks/0/text/text]". */
  message: string;
}

export interface Conformance {
  refusals: string[];
  flags: string[];
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const textOf = (v: unknown): string | undefined => (isObj(v) && typeof v.text === 'string' ? v.text : undefined);

/** A control sequence Slack parses between < and >. */
const CONTROL =
  /^(?:@[UW][A-Z0-9]+(?:\|[^<>]*)?|#[CG][A-Z0-9]+(?:\|[^<>]*)?|!subteam\^[A-Z0-9]+(?:\|[^<>]*)?|!date\^\d+\^[^<>|]*(?:\^[^<>|]*)?\|[^<>]*|!(?:here|channel|everyone)(?:\|[^<>]*)?|(?:https?:\/\/|mailto:)[^<>|\s]+(?:\|[^<>]*)?)$/;
const BROADCAST = /<!(here|channel|everyone)(\|[^>]*)?>/;

/** What in a mrkdwn string Slack would show differently from the sender's intent. */
export function mrkdwnFlags(text: string, at: string): string[] {
  const flags: string[] = [];
  const amp = /&(?!amp;|lt;|gt;)/.exec(text);
  if (amp) flags.push(`raw & not written as &amp; near "${snippet(text, amp.index)}" [json-pointer:${at}]`);
  const twice = /&amp;(amp|lt|gt);/.exec(text);
  if (twice)
    flags.push(`entity escaped twice shows literally near "${snippet(text, twice.index)}" [json-pointer:${at}]`);
  // Walk the < … > sequences: each must be a control sequence; a stray > must be a line-start quote.
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '<') {
      const end = text.indexOf('>', i + 1);
      const next = text.indexOf('<', i + 1);
      if (end < 0 || (next >= 0 && next < end) || !CONTROL.test(text.slice(i + 1, end))) {
        flags.push(`raw < forms no link or mention near "${snippet(text, i)}" [json-pointer:${at}]`);
        i += 1;
        continue;
      }
      i = end + 1;
      continue;
    }
    if (c === '>') {
      const lineStart = i === 0 || text[i - 1] === '\n';
      if (!lineStart) flags.push(`raw > not written as &gt; near "${snippet(text, i)}" [json-pointer:${at}]`);
    }
    i += 1;
  }
  const cast = BROADCAST.exec(text);
  if (cast) flags.push(`broadcast ${cast[0]} in the bot's text [json-pointer:${at}]`);
  return flags;
}

function snippet(text: string, index: number): string {
  return text.slice(Math.max(0, index - 15), index + 25).replace(/\n/g, ' ');
}

class Checker {
  readonly refusals: string[] = [];
  readonly flags: string[] = [];
  /** Characters of text in the blocks, for the message total. */
  chars = 0;

  refuse(message: string, at: string): void {
    this.refusals.push(`${message} [json-pointer:${at}]`);
  }

  max(value: string | undefined, limit: number, at: string): void {
    if (value !== undefined && value.length > limit) this.refuse(`must be less than ${limit + 1} characters`, at);
  }

  /** A text object: its type, its length, and its mrkdwn. */
  text(v: unknown, at: string, limit: number, plainOnly = false): void {
    if (v === undefined) return;
    if (!isObj(v) || typeof v.text !== 'string') {
      this.refuse('must be a text object', at);
      return;
    }
    if (v.type !== 'plain_text' && v.type !== 'mrkdwn') this.refuse('must be plain_text or mrkdwn', `${at}/type`);
    if (plainOnly && v.type !== 'plain_text') this.refuse('must be a plain_text object', `${at}/type`);
    if (v.text.length < 1) this.refuse('must be more than 0 characters', `${at}/text`);
    this.max(v.text, limit, `${at}/text`);
    this.chars += v.text.length;
    if (v.type === 'mrkdwn' && v.verbatim !== true) this.flags.push(...mrkdwnFlags(v.text, `${at}/text`));
  }

  option(o: unknown, at: string, plainOnly: boolean): void {
    if (!isObj(o)) {
      this.refuse('must be an option object', at);
      return;
    }
    this.text(o.text, `${at}/text`, 75, plainOnly);
    if (typeof o.value === 'string') this.max(o.value, 150, `${at}/value`);
    this.text(o.description, `${at}/description`, 75, true);
  }

  confirm(c: unknown, at: string): void {
    if (!isObj(c)) return;
    this.text(c.title, `${at}/title`, 100, true);
    this.text(c.text, `${at}/text`, 300);
    this.text(c.confirm, `${at}/confirm`, 30, true);
    this.text(c.deny, `${at}/deny`, 30, true);
  }

  element(e: unknown, at: string): void {
    if (!isObj(e) || typeof e.type !== 'string') {
      this.refuse('missing required field: type', at);
      return;
    }
    if (typeof e.action_id === 'string') this.max(e.action_id, 255, `${at}/action_id`);
    this.text(e.placeholder, `${at}/placeholder`, 150, true);
    this.confirm(e.confirm, `${at}/confirm`);
    const options = Array.isArray(e.options) ? e.options : undefined;
    switch (e.type) {
      case 'button':
        this.text(e.text, `${at}/text`, 75, true);
        if (typeof e.value === 'string') this.max(e.value, 2000, `${at}/value`);
        if (typeof e.url === 'string') this.max(e.url, 3000, `${at}/url`);
        if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger')
          this.refuse('must be one of primary, danger', `${at}/style`);
        break;
      case 'overflow':
        if (!options || options.length < 1) this.refuse('must contain at least 1 items', `${at}/options`);
        else if (options.length > 5) this.refuse('must contain at most 5 items', `${at}/options`);
        options?.forEach((o, j) => {
          this.option(o, `${at}/options/${j}`, true);
        });
        break;
      case 'static_select':
      case 'multi_static_select':
        if (options && options.length > 100) this.refuse('must contain at most 100 items', `${at}/options`);
        if (!options && !Array.isArray(e.option_groups)) this.refuse('must provide options or option_groups', at);
        options?.forEach((o, j) => {
          this.option(o, `${at}/options/${j}`, true);
        });
        if (e.initial_option !== undefined) this.option(e.initial_option, `${at}/initial_option`, true);
        break;
      case 'checkboxes':
      case 'radio_buttons':
        if (!options || options.length < 1) this.refuse('must contain at least 1 items', `${at}/options`);
        else if (options.length > 10) this.refuse('must contain at most 10 items', `${at}/options`);
        options?.forEach((o, j) => {
          this.option(o, `${at}/options/${j}`, false);
        });
        break;
      case 'image':
        if (typeof e.alt_text !== 'string') this.refuse('missing required field: alt_text', at);
        break;
      case 'mrkdwn':
      case 'plain_text':
        this.text(e, at, 3000);
        break;
    }
  }

  block(b: unknown, at: string, ids: Set<string>): void {
    if (!isObj(b) || typeof b.type !== 'string') {
      this.refuse('missing required field: type', at);
      return;
    }
    if (typeof b.block_id === 'string') {
      this.max(b.block_id, 255, `${at}/block_id`);
      if (ids.has(b.block_id)) this.refuse('duplicate block_id', `${at}/block_id`);
      ids.add(b.block_id);
    }
    const elements = Array.isArray(b.elements) ? b.elements : undefined;
    switch (b.type) {
      case 'section': {
        const fields = Array.isArray(b.fields) ? b.fields : undefined;
        if (b.text === undefined && !fields) this.refuse('must provide text or fields', at);
        this.text(b.text, `${at}/text`, 3000);
        if (fields && fields.length > 10) this.refuse('must contain at most 10 items', `${at}/fields`);
        fields?.forEach((f, j) => {
          this.text(f, `${at}/fields/${j}`, 2000);
        });
        if (b.accessory !== undefined) this.element(b.accessory, `${at}/accessory`);
        break;
      }
      case 'header':
        if (b.text === undefined) this.refuse('missing required field: text', at);
        this.text(b.text, `${at}/text`, 150, true);
        break;
      case 'context':
        if (!elements || elements.length < 1) this.refuse('must contain at least 1 items', `${at}/elements`);
        else if (elements.length > 10) this.refuse('must contain at most 10 items', `${at}/elements`);
        elements?.forEach((e, j) => {
          this.element(e, `${at}/elements/${j}`);
        });
        break;
      case 'actions': {
        if (!elements || elements.length < 1) this.refuse('must contain at least 1 items', `${at}/elements`);
        else if (elements.length > 25) this.refuse('must contain at most 25 items', `${at}/elements`);
        const actionIds = new Set<string>();
        elements?.forEach((e, j) => {
          const id = isObj(e) && typeof e.action_id === 'string' ? e.action_id : undefined;
          if (id !== undefined && actionIds.has(id))
            this.refuse('duplicate action_id', `${at}/elements/${j}/action_id`);
          if (id !== undefined) actionIds.add(id);
          this.element(e, `${at}/elements/${j}`);
        });
        break;
      }
      case 'input':
        this.text(b.label, `${at}/label`, 2000, true);
        this.text(b.hint, `${at}/hint`, 2000, true);
        if (b.element === undefined) this.refuse('missing required field: element', at);
        else this.element(b.element, `${at}/element`);
        break;
      case 'image':
        if (typeof b.alt_text !== 'string') this.refuse('missing required field: alt_text', at);
        break;
    }
  }

  blocks(blocks: unknown, at: string, maxBlocks: number): void {
    if (!Array.isArray(blocks)) {
      this.refuse('must be an array', at);
      return;
    }
    if (blocks.length > maxBlocks) this.refuse(`must contain at most ${maxBlocks} items`, at);
    const ids = new Set<string>();
    blocks.forEach((b, i) => {
      this.block(b, `${at}/${i}`, ids);
    });
  }
}

/** Slack's about-12,000-character ceiling on a message's block text. */
export const MESSAGE_BLOCK_CHARS = 12_000;
export const MESSAGE_TEXT_CHARS = 40_000;

/** A chat.* or response_url payload. `error` is what Slack answers when it refuses it. */
export function checkMessage(payload: Obj): Conformance & { error?: 'invalid_blocks' | 'msg_too_long' } {
  const c = new Checker();
  const text = typeof payload.text === 'string' ? payload.text : undefined;
  if (text !== undefined && payload.mrkdwn !== false) c.flags.push(...mrkdwnFlags(text, '/text'));
  if (payload.blocks !== undefined) c.blocks(payload.blocks, '/blocks', 50);
  if (c.refusals.length > 0) return { refusals: c.refusals, flags: c.flags, error: 'invalid_blocks' };
  if ((text?.length ?? 0) > MESSAGE_TEXT_CHARS || c.chars > MESSAGE_BLOCK_CHARS) {
    const refusals = [`message is too long (${c.chars} characters of block text, ${text?.length ?? 0} of text)`];
    return { refusals, flags: c.flags, error: 'msg_too_long' };
  }
  return { refusals: [], flags: c.flags };
}

/** A view for views.open / push / update / publish. */
export function checkView(view: unknown): Conformance {
  const c = new Checker();
  if (!isObj(view)) {
    c.refuse('must be an object', '/view');
    return c;
  }
  c.blocks(view.blocks ?? [], '/view/blocks', 100);
  if (view.type === 'modal') {
    const title = textOf(view.title);
    if (title === undefined) c.refuse('missing required field: title', '/view/title');
    c.text(view.title, '/view/title', 24, true);
    c.text(view.submit, '/view/submit', 24, true);
    c.text(view.close, '/view/close', 24, true);
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObj(b) && b.type === 'input');
    if (hasInput && !view.submit) c.refuse('must provide a submit property when any input blocks are used', '/view');
  } else if (view.type !== 'home') {
    c.refuse('must be one of modal, home', '/view/type');
  }
  if (typeof view.private_metadata === 'string') c.max(view.private_metadata, 3000, '/view/private_metadata');
  if (typeof view.callback_id === 'string') c.max(view.callback_id, 255, '/view/callback_id');
  if (typeof view.external_id === 'string') c.max(view.external_id, 255, '/view/external_id');
  return c;
}

/** Slack's form of a refusal: the error and response_metadata.messages. */
export function refusal(error: string, refusals: string[]): Obj {
  return { ok: false, error, errors: refusals, response_metadata: { messages: refusals.map((e) => `[ERROR] ${e}`) } };
}
