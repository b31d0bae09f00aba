// What the incident actions tell people is values (a mention, a channel, a duration) that
// blocks/mrkdwn.ts renders, escaping the text around them once.
import { describe, expect, it } from 'vitest';
import { renderRich } from '../../src/blocks/mrkdwn.js';
import { channel, group, link, user } from '../../src/domain/text.js';

describe("rendering the domain's rich text", () => {
  it('writes mentions, channels, links and durations as Slack markup and escapes the words', () => {
    expect(renderRich(['Reassigning to ', user('U123'), '.'])).toBe('Reassigning to <@U123>.');
    expect(renderRich([group('S9'), ' in ', channel('C1')])).toBe('<!subteam^S9> in <#C1>');
    expect(renderRich([link('https://pd.example/i/1', '#42 <a&b>')])).toBe(
      '<https://pd.example/i/1|#42 &lt;a&amp;b&gt;>',
    );
    expect(renderRich(['Acknowledged after ', { duration: 192_000 }, '.'])).toBe('Acknowledged after 3m 12s.');
    expect(renderRich(['1 < 2 & 3 > 2'])).toBe('1 &lt; 2 &amp; 3 &gt; 2');
  });
});
