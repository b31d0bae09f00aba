// Secrets never reach Slack, logs or errors: every outbound text passes through a Redactor.
// bot.ts builds one from the config (known secret values: tokens, passwords) and hands it to
// the logger, the HTTP edge and the targets, which add Kubernetes secret data seen in passing;
// generic patterns catch the rest.

const REDACTED = '[redacted]';

const PATTERNS: Array<[RegExp, string]> = [
  // user:password@ in any URL
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s/]+@/gi, `$1${REDACTED}@`],
  // Slack tokens
  [/\bxox[abposr]-[A-Za-z0-9-]+/g, `xox-${REDACTED}`],
  [/\bxapp-[A-Za-z0-9-]+/g, `xapp-${REDACTED}`],
  // Authorization headers in error texts
  [/\b(Bearer|Token token=)\s*[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
];

export interface RedactorSecrets {
  /** Secret values: tokens, signing secrets. */
  secrets?: Iterable<string | undefined>;
  /** Connection URLs whose password is a secret (postgres://u:p@host/db). */
  urls?: Iterable<string | undefined>;
}

export class Redactor {
  private readonly known = new Set<string>();
  private readonly followers: Redactor[] = [];

  constructor(given: RedactorSecrets = {}) {
    for (const s of given.secrets ?? []) this.add(s);
    for (const u of given.urls ?? []) this.addUrl(u);
  }

  /** Remember a secret so that it, and its base64 and URL-encoded forms, is scrubbed from all output. */
  add(value: string | undefined): void {
    if (!value || value.length < 4) return;
    for (const form of [value, Buffer.from(value).toString('base64'), encodeURIComponent(value)]) this.known.add(form);
    for (const f of this.followers) f.add(value);
  }

  /** Remembers the password of a connection URL such as postgres://u:p@host/db. */
  addUrl(url: string | undefined): void {
    if (!url) return;
    try {
      const parsed = new URL(url);
      if (parsed.password) this.add(decodeURIComponent(parsed.password));
    } catch {
      // Not a URL: nothing to remember.
    }
  }

  /** Every secret this redactor knows, now and later, is known to `other` too. */
  share(other: Redactor): void {
    for (const s of this.known) other.known.add(s);
    this.followers.push(other);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }

  /** Deep-redacts strings inside a JSON-like value (for log objects and Slack payloads). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v)) as T;
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.redactDeep(v);
      return out as T;
    }
    return value;
  }
}

// Compatibility for callers not yet handed a Redactor (handlers' Slack payloads, remediations,
// TargetError's message): they use this one, which every bot's Redactor shares its secrets with
// (startBot calls share). New code takes the Redactor it is given instead.
/** The Redactor the free functions below use; startBot's Redactor shares its secrets with it. */
export const legacyRedactor = new Redactor();

/** Prefer the Redactor you were handed. */
export function redact(text: string): string {
  return legacyRedactor.redact(text);
}

/** Prefer the Redactor you were handed. */
export function redactDeep<T>(value: T): T {
  return legacyRedactor.redactDeep(value);
}
