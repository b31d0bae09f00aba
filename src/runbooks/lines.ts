// Small text helpers shared by procedures: plural words, one-line SQL, and cutting long
// outputs (logs, query plans) so the message shows a part and the attachment has it all.

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** Collapses whitespace and cuts, so a multi-line query reads on one line. */
export function oneLine(text: string | null | undefined, max = 160): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Passwords typed into SQL (ALTER ROLE … PASSWORD '…') must not reach Slack with the query text. */
export function scrubSql(text: string): string {
  return text.replace(/(password\s+)'(?:[^']|'')*'/gi, "$1'[redacted]'");
}

export const LINE_MAX = 300;

function clip(line: string): string {
  return line.length > LINE_MAX ? `${line.slice(0, LINE_MAX - 1)}…` : line;
}

/**
 * The last `n` lines, preceded by "…and N more lines" when some were left out: logs are read
 * from the end. The report cuts details at 12 lines, so n stays below that.
 */
export function tailDetails(lines: string[], n: number, where = 'in the attached file'): string[] {
  const kept = lines.slice(-n).map(clip);
  const more = lines.length - kept.length;
  return more > 0 ? [`…and ${plural(more, 'more line')} before these (${where})`, ...kept] : kept;
}

/** The first `n` lines, followed by "…and N more lines" when some were left out. */
export function headDetails(lines: string[], n: number, where = 'in the attached file'): string[] {
  const kept = lines.slice(0, n).map(clip);
  const more = lines.length - kept.length;
  return more > 0 ? [...kept, `…and ${plural(more, 'more line')} (${where})`] : kept;
}
