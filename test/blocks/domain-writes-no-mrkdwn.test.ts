// The domain returns values and blocks/ writes Slack's mrkdwn (issue 9, item 4): no string literal
// under src/remediations, src/runbooks or src/incidents holds a code span (a backtick) or Slack's
// mention and link syntax (<@…>, <!subteam^…>, <#…>, <http…>). Literals are read with the
// TypeScript parser, so comments never count and a template literal counts piece by piece.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const DOMAIN = ['src/remediations', 'src/runbooks', 'src/incidents'];

/**
 * Literals allowed to keep a backtick, each with why. A zod message is a string by zod's API; it
 * reaches Slack as plain text, escaped once by blocks/.
 */
const EXCEPTIONS: Array<{ file: string; text: string; why: string }> = [
  {
    file: 'src/remediations/clear-cache.ts',
    text: 'use `/dmp cache flush` to clear everything',
    why: 'a zod refinement message (zod takes a string)',
  },
];

const MARKUP = /`|<@|<!subteam\^|<![a-z]|<#[CG]|<(?:https?|mailto):/;

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function markupLiterals(file: string): Array<{ file: string; line: number; text: string }> {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Array<{ file: string; line: number; text: string }> = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      if (MARKUP.test(node.text)) {
        const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
        found.push({ file, line, text: node.text });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the domain writes no mrkdwn', () => {
  const all = DOMAIN.flatMap(files).flatMap(markupLiterals);

  it('no string literal in the domain holds a code span or Slack mention/link syntax', () => {
    const left = all.filter((f) => !EXCEPTIONS.some((e) => e.file === f.file && f.text.includes(e.text)));
    expect(left.map((f) => `${f.file}:${f.line}: ${f.text}`)).toEqual([]);
  });

  it('every exception is still needed', () => {
    for (const e of EXCEPTIONS) expect(all.some((f) => f.file === e.file && f.text.includes(e.text))).toBe(true);
  });
});
