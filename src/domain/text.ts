// Values the domain returns instead of Slack markup; blocks/ renders them (src/blocks/mrkdwn.ts).
export type Inline =
  | string
  | { user: string }
  | { group: string }
  | { channel: string }
  | { link: string; label?: string }
  | { duration: number }
  /** Words shown in bold: the user's own * or _ in them cannot end the bold early. */
  | { bold: string }
  /** A command, statement or name shown as code (`VACUUM ANALYZE nodes`). */
  | { code: string };
export type RichText = Inline[];
export const user = (id: string): Inline => ({ user: id });
export const group = (id: string): Inline => ({ group: id });
export const channel = (id: string): Inline => ({ channel: id });
export const link = (url: string, label?: string): Inline =>
  label === undefined ? { link: url } : { link: url, label };
export const bold = (text: string): Inline => ({ bold: text });
export const code = (text: string): Inline => ({ code: text });
