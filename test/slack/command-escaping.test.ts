// manifest.yml has `should_escape: true` for /dmp, so Slack sends a typed `@name` as
// `<@U…|name>`, `#channel` as `<#C…|name>`, links in angle brackets and `& < >` as entities.
// Every /dmp command with arguments still gets what was typed: the Slack fake writes the text as
// Slack does, fromSlackText undoes the escaping, and the registry resolves the command.
import { readFileSync } from 'node:fs';
import { type SlackFake, startSlackFake } from '@dmp-bot/sim/slack-fake';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromSlackText, resolve } from '../../src/commands/parse.js';
import { commandRegistry } from '../../src/commands/registry.js';

const manifest = yaml.load(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')) as {
  features: { slash_commands: Array<{ command: string; should_escape: boolean }> };
};
const shouldEscape = manifest.features.slash_commands.find((c) => c.command === '/dmp')?.should_escape;

describe('/dmp text as Slack sends it (should_escape)', () => {
  let slack: SlackFake;

  beforeAll(async () => {
    slack = await startSlackFake({
      users: { U0LEAD0001: { name: 'lee', real_name: 'Lee Lead', email: 'lee@example.com' } },
      channels: { C0INCIDENTS: { name: 'incidents' } },
    });
  });

  afterAll(async () => {
    await slack?.close();
  });

  /** What a command gets from the text a person typed. */
  const typed = (text: string) => {
    const sent = slack.commandText(text, { shouldEscape });
    const r = resolve(commandRegistry(), fromSlackText(sent));
    return { sent, words: r.command?.words.join(' '), args: r.command ? r.args : undefined };
  };

  it('is on, so a typed @name reaches the bot with its user id', () => {
    expect(shouldEscape).toBe(true);
    expect(typed('incident lead @lee Q1ABC')).toEqual({
      sent: 'incident lead <@U0LEAD0001|lee> Q1ABC',
      words: 'incident lead',
      args: ['<@U0LEAD0001|lee>', 'Q1ABC'],
    });
    // Without it Slack would send the name as typed, and display names are neither unique nor ids.
    expect(slack.commandText('incident lead @lee', { shouldEscape: false })).toBe('incident lead @lee');
  });

  it('leaves someone Slack does not know as typed, for the command to refuse', () => {
    expect(typed('incident comms @nobody').args).toEqual(['@nobody']);
  });

  it('gives every other command its arguments back as typed: links, entities, patterns, names', () => {
    expect(typed('logs api --grep https://graph.example/v1?a=1&b=2 --since 10m')).toMatchObject({
      sent: 'logs api --grep <https://graph.example/v1?a=1&amp;b=2> --since 10m',
      words: 'logs',
      args: ['api', '--grep', 'https://graph.example/v1?a=1&b=2', '--since', '10m'],
    });
    expect(typed('logs api --grep "a<b && c>d"').args).toEqual(['api', '--grep', 'a<b && c>d']);
    expect(typed('cache flush graph:*').args).toEqual(['graph:*']);
    expect(typed('oncall DMP API').args).toEqual(['DMP', 'API']);
    expect(typed('scale scan-workers 4').args).toEqual(['scan-workers', '4']);
    expect(typed('scan fail 00000000-0000-0000-0000-000000000000').args).toEqual([
      '00000000-0000-0000-0000-000000000000',
    ]);
    expect(typed('db terminate 5 123 456').args).toEqual(['5', '123', '456']);
    expect(typed('incident timeline #37').args).toEqual(['#37']);
    // An email becomes a mailto link in Slack and the address again here.
    expect(typed('incident lead lee@example.com').args).toEqual(['lee@example.com']);
    // A channel stays a channel mention, with its id.
    expect(typed('help #incidents').args).toEqual(['<#C0INCIDENTS|incidents>']);
  });
});
