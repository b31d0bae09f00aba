// manifest.yml pastes into Slack's "create app from manifest": it parses, names /dmp with the
// bot's events path, and grants a scope for every Web API method the code calls.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const manifest = yaml.load(readFileSync(join(root, 'manifest.yml'), 'utf8')) as {
  features: {
    slash_commands: Array<{ command: string; url: string; should_escape?: boolean }>;
    app_home: { home_tab_enabled: boolean };
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: {
    event_subscriptions: { request_url: string; bot_events: string[] };
    interactivity: { is_enabled: boolean; request_url: string };
    socket_mode_enabled: boolean;
  };
};

/** The Web API methods the source calls through a WebClient. */
function methodsCalled(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (name !== 'sim') walk(path);
      } else if (name.endsWith('.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(
          /\b(?:client|slack)\.((?:chat|views|users|usergroups|reactions|conversations|files|auth)\.[a-zA-Z.]+)\(/g,
        ))
          found.add(m[1] as string);
        if (/filesUploadV2\(/.test(readFileSync(path, 'utf8'))) found.add('files.uploadV2');
      }
    }
  };
  walk(join(root, 'src'));
  return found;
}

const SCOPE_FOR: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'users.info': ['users:read'],
  'users.lookupByEmail': ['users:read.email'],
  'usergroups.users.list': ['usergroups:read'],
  'reactions.add': ['reactions:write'],
  'conversations.join': ['channels:join'],
  // A link back to a message needs no scope of its own.
  'chat.getPermalink': [],
  'conversations.open': ['im:write'],
  'conversations.history': ['channels:history'],
  'conversations.replies': ['channels:history'],
  'files.uploadV2': ['files:write'],
};

describe('manifest.yml', () => {
  it('declares /dmp, interactivity and the events on the bot’s Slack path', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/dmp']);
    for (const url of [
      manifest.features.slash_commands[0]?.url,
      manifest.settings.event_subscriptions.request_url,
      manifest.settings.interactivity.request_url,
    ])
      expect(url).toMatch(/\/slack\/events$/);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(
      expect.arrayContaining(['app_home_opened', 'message.channels', 'reaction_added']),
    );
    expect(typeof manifest.settings.socket_mode_enabled).toBe('boolean');
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
  });

  it('has Slack escape /dmp text, so a typed @person arrives as their user id (test/slack/command-escaping)', () => {
    expect(manifest.features.slash_commands.find((c) => c.command === '/dmp')?.should_escape).toBe(true);
  });

  it('grants a scope for every Web API method the code calls', () => {
    const scopes = new Set(manifest.oauth_config.scopes.bot);
    expect(scopes.has('commands')).toBe(true);
    // reaction_added (a :ballot_box_with_check: makes a follow-up) is delivered only with reactions:read.
    expect(scopes.has('reactions:read')).toBe(true);
    const missing = [...methodsCalled()].filter(
      (m) => m in SCOPE_FOR && !(SCOPE_FOR[m] ?? []).every((s) => scopes.has(s)),
    );
    expect(missing).toEqual([]);
    expect(
      [...methodsCalled()].filter(
        (m) => !(m in SCOPE_FOR) && !m.startsWith('views.') && m !== 'auth.test' && !m.startsWith('files.slice'),
      ),
    ).toEqual([]);
  });
});
