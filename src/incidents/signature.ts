// PagerDuty v3 webhook signatures: `X-PagerDuty-Signature` carries one `v1=<hex HMAC-SHA256 of
// the raw body>` per active secret (several during a rotation). A request is genuine when any
// of them matches any configured secret, compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function verifyPagerDutySignature(
  rawBody: Buffer,
  header: string | string[] | undefined,
  secrets: string[],
): boolean {
  if (!header || secrets.length === 0) return false;
  const values = (Array.isArray(header) ? header.join(',') : header)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .map((s) => s.slice(3))
    .filter((hex) => /^[0-9a-f]{64}$/i.test(hex))
    .slice(0, 10)
    .map((hex) => Buffer.from(hex, 'hex'));
  if (values.length === 0) return false;
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    // Every pair is compared, so the time taken does not tell which secret or signature matched.
    for (const given of values) if (timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}
