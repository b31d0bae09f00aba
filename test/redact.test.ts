// The Redactor bot.ts builds from the config: what it knows is handed in, not registered globally.
import { describe, expect, it } from 'vitest';
import { configSecrets, loadConfig } from '../src/config.js';
import { MAY_MATCH_A_PATTERN, Redactor } from '../src/redact.js';

describe('Redactor', () => {
  it('scrubs the config’s tokens and URL passwords, in their base64 and URL-encoded forms too', () => {
    const config = loadConfig({
      DMP_ADMIN_TOKEN: 'adm-7f3c19e2',
      DMP_DATABASE_URL: 'postgres://dmp:p%40ss-w0rd@db:5432/dmp',
    } as NodeJS.ProcessEnv);
    const r = new Redactor(configSecrets(config));
    expect(r.redact('token adm-7f3c19e2 and p@ss-w0rd')).toBe('token [redacted] and [redacted]');
    expect(r.redact(Buffer.from('adm-7f3c19e2').toString('base64'))).toBe('[redacted]');
    expect(r.redactDeep({ a: ['x p%40ss-w0rd'] })).toEqual({ a: ['x [redacted]'] });
  });

  it('keeps two bots’ secrets apart, and loading a config registers nothing', () => {
    loadConfig({ DMP_ADMIN_TOKEN: 'never-registered-91' } as NodeJS.ProcessEnv);
    expect(new Redactor().redact('never-registered-91')).toBe('never-registered-91');
    const a = new Redactor({ secrets: ['secret-of-a'] });
    const b = new Redactor({ secrets: ['secret-of-b'] });
    expect(a.redact('secret-of-b')).toBe('secret-of-b');
    expect(b.redact('secret-of-a')).toBe('secret-of-a');
  });

  it('teaches what it learns later to the redactors it shares with', () => {
    const bot = new Redactor({ secrets: ['first-secret'] });
    const other = new Redactor();
    bot.share(other);
    bot.add('seen-in-passing');
    expect(other.redact('first-secret seen-in-passing')).toBe('[redacted] [redacted]');
  });

  it('still scrubs Slack tokens and any URL’s user and password it was never told', () => {
    expect(new Redactor().redact('xoxb-123-abc at redis://u:hunter22@cache:6379')).toBe(
      'xox-[redacted] at redis://[redacted]@cache:6379',
    );
    expect(new Redactor().redact('clone https://ghp_R3alT0kenValue0123456789abcd@github.com/o/r failed')).toBe(
      'clone https://[redacted]@github.com/o/r failed',
    );
    // Slack's own link and mention syntax is left alone.
    expect(new Redactor().redact('<https://grafana.example/d/x|dashboard> <@U0ALICE01>')).toBe(
      '<https://grafana.example/d/x|dashboard> <@U0ALICE01>',
    );
  });

  it('registers the user and password of every configured URL, a token used as a URL’s user included', () => {
    const config = loadConfig({
      BOT_DATABASE_URL: 'postgres://botuser-7a1c9e3f2b:b0t-pa55@db:5432/bot',
      DMP_DATABASE_URL: 'postgres://postgres:dmp-pa55-9z@db:5432/dmp',
      DMP_REDIS_URL: 'redis://:r3dis-pa55@cache:6379/0',
      DMP_API_URL: 'https://ghp_ApiT0kenAsUser00000000000001@api.dmp.example/',
      SLACK_API_URL: 'https://proxyuser:sl4ck-proxy-pa55@slack-proxy.example/api/',
      PAGERDUTY_API_URL: 'https://pd-user:pd-proxy-pa55@pd.example',
      GITHUB_API_URL: 'https://gh-proxy-token-0000000000000001@gh.example/',
    } as NodeJS.ProcessEnv);
    const r = new Redactor(configSecrets(config));
    const leaked = [
      'b0t-pa55',
      'botuser-7a1c9e3f2b',
      'dmp-pa55-9z',
      'r3dis-pa55',
      'ghp_ApiT0kenAsUser00000000000001',
      'sl4ck-proxy-pa55',
      'pd-proxy-pa55',
      'gh-proxy-token-0000000000000001',
    ];
    // As a driver would word them: the credential alone, outside any URL.
    const text = r.redact(leaked.map((v) => `password authentication failed for "${v}"`).join('\n'));
    for (const v of leaked) expect(text).not.toContain(v);
    // An account name such as postgres is hidden in a URL but still readable in a sentence.
    expect(r.redact('postgres: unreachable')).toBe('postgres: unreachable');
  });

  it('scrubs secret-shaped text it was never told: private keys over several log lines, JWTs, GitHub tokens', () => {
    const r = new Redactor();
    const lines = r.redactLines([
      'boot ok',
      'loaded key -----BEGIN RSA PRIVATE KEY-----',
      'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
      '-----END RSA PRIVATE KEY-----',
      'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl sent',
      'git push with ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'after the key',
    ]);
    expect(lines).toEqual([
      'boot ok',
      'loaded key -----BEGIN RSA PRIVATE KEY----- [redacted]',
      '[redacted]',
      '[redacted]',
      'token jwt-[redacted] sent',
      'git push with gh-[redacted]',
      'after the key',
    ]);
  });

  it('passes by plain text, and still catches a sample of every pattern (the fast path skips only what none can match)', () => {
    const r = new Redactor();
    const plain = 'dmp-bot: the support runbook in Slack — `/dmp health` checks every target';
    expect(MAY_MATCH_A_PATTERN.test(plain)).toBe(false);
    expect(r.redact(plain)).toBe(plain);
    const samples: Array<[string, string]> = [
      ['see postgres://bot:pw@db/x', 'see postgres://[redacted]@db/x'],
      ['HTTPS://user:pw@host/', 'HTTPS://[redacted]@host/'],
      ['xoxb-1-abc', 'xox-[redacted]'],
      ['xoxe-1-abc', 'xox-[redacted]'],
      ['xapp-1-abc', 'xapp-[redacted]'],
      ['ghs_abcdefghijklmnopqrstuvwxyz', 'gh-[redacted]'],
      ['github_pat_abcdefghijklmnopqrstuvwxyz', 'github_pat_[redacted]'],
      ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig', 'jwt-[redacted]'],
      ['AKIAABCDEFGHIJKLMNOP', 'aws-[redacted]'],
      ['ASIAABCDEFGHIJKLMNOP', 'aws-[redacted]'],
      ['-----BEGIN PRIVATE KEY----- abc', '-----BEGIN PRIVATE KEY----- [redacted]'],
      ['Authorization: Bearer abcdefgh12345', 'Authorization: Bearer [redacted]'],
      ['Token token=abcdefgh12345', 'Token token= [redacted]'],
    ];
    for (const [input, expected] of samples) {
      expect(MAY_MATCH_A_PATTERN.test(input), input).toBe(true);
      expect(r.redact(input), input).toBe(expected);
    }
  });

  it('finds known secrets in one scan, taking their characters literally and the longer of two overlapping whole', () => {
    const r = new Redactor({ secrets: ['p.a$s(w)rd+', 'abcd', 'abcd-efgh-long'] });
    expect(r.redact('pXaYs(w)rd+ p.a$s(w)rd+')).toBe('pXaYs(w)rd+ [redacted]');
    expect(r.redact('x abcd-efgh-long y abcd z')).toBe('x [redacted] y [redacted] z');
    r.add('added-later-1');
    expect(r.redact('added-later-1 abcd')).toBe('[redacted] [redacted]');
    expect(r.redact('nothing here')).toBe('nothing here');
  });
});
