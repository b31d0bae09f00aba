// Secrets never reach Slack, logs or errors: every outbound text passes through redact().
// Known secret values (tokens, passwords, Kubernetes secret data seen in passing) are
// registered once; generic patterns catch the rest.

const REDACTED = '[redacted]';
const known = new Set<string>();

/** Remember a secret so that it, and its base64 form, is scrubbed from all output. */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 4) return;
  known.add(value);
  known.add(Buffer.from(value).toString('base64'));
  known.add(encodeURIComponent(value));
}

/** Registers the password of a connection URL such as postgres://u:p@host/db. */
export function registerUrlSecret(url: string | undefined): void {
  if (!url) return;
  try {
    const parsed = new URL(url);
    if (parsed.password) registerSecret(decodeURIComponent(parsed.password));
  } catch {
    // Not a URL: nothing to register.
  }
}

const PATTERNS: Array<[RegExp, string]> = [
  // user:password@ in any URL
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s/]+@/gi, `$1${REDACTED}@`],
  // Slack tokens
  [/\bxox[abposr]-[A-Za-z0-9-]+/g, `xox-${REDACTED}`],
  [/\bxapp-[A-Za-z0-9-]+/g, `xapp-${REDACTED}`],
  // Authorization headers in error texts
  [/\b(Bearer|Token token=)\s*[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
];

export function redact(text: string): string {
  let out = text;
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Deep-redacts strings inside a JSON-like value (for log objects and Slack payloads). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}
