// Values the domain returns instead of Slack markup; blocks/ renders them (src/blocks/mrkdwn.ts).
export type Inline =
  | string
  | { user: string }
  | { group: string }
  | { channel: string }
  | { link: string; label?: string }
  | { duration: number };
export type RichText = Inline[];
export const user = (id: string): Inline => ({ user: id });
export const group = (id: string): Inline => ({ group: id });
export const channel = (id: string): Inline => ({ channel: id });
export const link = (url: string, label?: string): Inline =>
  label === undefined ? { link: url } : { link: url, label };
