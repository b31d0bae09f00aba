// Slack's emoji short names (`:mag:`, `:large_green_circle:`) as the characters Slack shows.
// The table is emoji-datasource (iamcal/emoji-data), the data set Slack's own short names come
// from, kept up with each Unicode release; it is read once, on the first emoji the console meets.
import { createRequire } from 'node:module';

interface EmojiRow {
  unified: string;
  short_names: string[];
}

let table: Map<string, string> | undefined;

function load(): Map<string, string> {
  const rows = createRequire(import.meta.url)('emoji-datasource/emoji.json') as EmojiRow[];
  const map = new Map<string, string>();
  for (const row of rows) {
    const char = String.fromCodePoint(...row.unified.split('-').map((hex) => Number.parseInt(hex, 16)));
    for (const name of row.short_names) map.set(name, char);
  }
  return map;
}

/** The character for a short name without colons, or undefined when Slack has no such emoji. */
export function emojiFor(shortName: string): string | undefined {
  table ??= load();
  return table.get(shortName);
}

/** Every `:name:` Slack knows replaced by its character; other colons (times, `a:b:c`) left alone. */
export function replaceEmoji(text: string): string {
  if (!text.includes(':')) return text;
  return text.replace(/(?<![\w]):([a-z0-9_+'-]+):(?::skin-tone-[2-6]:)?(?![\w])/g, (whole, name: string) => {
    return emojiFor(name) ?? whole;
  });
}
