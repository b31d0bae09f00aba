// The Redactor bot.ts builds from the config: what it knows is handed in, not registered globally.
import { describe, expect, it } from 'vitest';
import { configSecrets, loadConfig } from '../src/config.js';
import { Redactor, redact } from '../src/redact.js';

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
    expect(redact('never-registered-91')).toBe('never-registered-91');
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

  it('still scrubs Slack tokens and URL passwords it was never told', () => {
    expect(new Redactor().redact('xoxb-123-abc at redis://u:hunter22@cache:6379')).toBe(
      'xox-[redacted] at redis://u:[redacted]@cache:6379',
    );
  });
});
