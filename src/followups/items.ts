// A post-mortem's action items, one a line, as follow-up titles: list markers and checkboxes
// dropped, and a key that stays the same when the line is re-submitted with other spacing or case.
import { createHash } from 'node:crypto';

/** GitHub refuses issue titles over 256 characters. */
const TITLE_MAX = 256;

export interface ActionItem {
  title: string;
  key: string;
}

export function actionItems(text: string | undefined): ActionItem[] {
  const seen = new Set<string>();
  const out: ActionItem[] = [];
  for (const raw of (text ?? '').split(/\r?\n/)) {
    const title = raw
      .trim()
      .replace(/^(?:[-*•]|\d+[.)])\s+/, '')
      .replace(/^\[[ xX]\]\s+/, '')
      .trim();
    if (!title) continue;
    const key = itemKey(title);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ title: title.length > TITLE_MAX ? `${title.slice(0, TITLE_MAX - 1)}…` : title, key });
  }
  return out;
}

function itemKey(title: string): string {
  const normal = title.toLowerCase().replace(/\s+/g, ' ');
  return createHash('sha256').update(normal).digest('hex').slice(0, 32);
}
