// `/dmp oncall`: per escalation policy, who is on call at each level and until when.
import type { KnownBlock } from '@slack/types';
import type { PolicyOnCall } from '../incidents/oncall.js';
import { utc } from '../incidents/postmortem.js';
import { fitBlocks } from './limits.js';
import { esc, header, type Message, section } from './message.js';

function until(d: Date | undefined): string {
  if (!d) return 'always on call';
  return `until <!date^${Math.floor(d.getTime() / 1000)}^{date_short_pretty} {time}|${utc(d)}>`;
}

export function oncallMessage(policies: PolicyOnCall[], filter?: string): Message {
  if (policies.length === 0) {
    const text = `Nobody is on call${filter ? ` for "${esc(filter)}"` : ''} in PagerDuty right now.`;
    return { text, blocks: [section(text)] };
  }
  const blocks: KnownBlock[] = [header('Who is on call')];
  const lines: string[] = [];
  for (const p of policies) {
    const levels = p.levels.map(
      (l) =>
        `Level ${l.level}: ${l.people
          .map(
            (u) =>
              `${u.slackId ? `<@${u.slackId}> (${esc(u.name)})` : esc(u.name)} ${until(u.until)}${u.schedule ? ` · ${esc(u.schedule)}` : ''}`,
          )
          .join(', ')}`,
    );
    blocks.push(section(`*${esc(p.name)}*\n${levels.join('\n')}`));
    lines.push(
      `${p.name}: ${p.levels.map((l) => `level ${l.level} ${l.people.map((u) => u.name).join(', ')}`).join('; ')}`,
    );
  }
  return { text: `On call now — ${lines.join(' · ')}`.slice(0, 3000), blocks: fitBlocks(blocks) };
}
