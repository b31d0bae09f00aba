// Secrets never reach Slack, logs or errors: every outbound text passes through a Redactor.
// bot.ts builds one from the config (known secret values: tokens, passwords, every credential
// in a configured URL) and hands it to the logger, the HTTP edge and the targets, which pass
// every pod-log line through it as it is read. Kubernetes secret values are never received
// (metadata-only reads), so generic patterns catch secret-shaped text the bot was never told.

const REDACTED = '[redacted]';

const PATTERNS: Array<[RegExp, string]> = [
  // The userinfo (user, user:password, a token as user) of any URL
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#\s@<>|"']+@/gi, `$1${REDACTED}@`],
  // Slack tokens
  [/\bxox[abposre]-[A-Za-z0-9-]+/g, `xox-${REDACTED}`],
  [/\bxapp-[A-Za-z0-9-]+/g, `xapp-${REDACTED}`],
  // GitHub tokens (classic and fine-grained)
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, `gh-${REDACTED}`],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}/g, `github_pat_${REDACTED}`],
  // JSON Web Tokens: header.payload.signature, base64url
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/g, `jwt-${REDACTED}`],
  // AWS access key ids
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, `aws-${REDACTED}`],
  // A private key, whole
  [
    /-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    `-----BEGIN $1PRIVATE KEY----- ${REDACTED}`,
  ],
  // Authorization headers in error texts
  [/\b(Bearer|Token token=)\s*[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
];

/**
 * A literal that each of PATTERNS needs in order to match (the URL's `://`, each token's prefix,
 * the key's BEGIN line, `Bearer`): text holding none of them is not run through the patterns.
 * Keep it in step with PATTERNS (test/redact.test.ts holds a sample of each).
 */
export const MAY_MATCH_A_PATTERN =
  /:\/\/|xox[abposre]-|xapp-|gh[pousr]_|github_pat_|eyJ|AKIA|ASIA|-----BEGIN|Bearer|Token token=/;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const PEM_BEGIN = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const PEM_END = /-----END [A-Z ]*PRIVATE KEY-----/;

/** A URL user name that is a credential by itself (a token as user), not an account name like `postgres`. */
function isTokenLike(user: string): boolean {
  return user.length >= 16 || (/[0-9]/.test(user) && /[A-Za-z]/.test(user) && /[_-]/.test(user) && user.length >= 10);
}

export interface RedactorSecrets {
  /** Secret values: tokens, signing secrets. */
  secrets?: Iterable<string | undefined>;
  /** Connection URLs whose password is a secret (postgres://u:p@host/db). */
  urls?: Iterable<string | undefined>;
}

export class Redactor {
  private readonly known = new Set<string>();
  private readonly followers: Redactor[] = [];
  /** Every known secret in one expression (longest first), built when first needed after a change. */
  private knownPattern: RegExp | null | undefined;

  constructor(given: RedactorSecrets = {}) {
    for (const s of given.secrets ?? []) this.add(s);
    for (const u of given.urls ?? []) this.addUrl(u);
  }

  /** Remember a secret so that it, and its base64 and URL-encoded forms, is scrubbed from all output. */
  add(value: string | undefined): void {
    if (!value || value.length < 4) return;
    for (const form of [value, Buffer.from(value).toString('base64'), encodeURIComponent(value)]) this.known.add(form);
    this.knownPattern = undefined;
    for (const f of this.followers) f.add(value);
  }

  /**
   * Remembers the credentials of a URL such as postgres://u:p@host/db or https://ghp_…@host:
   * the password, and the user when it is a credential itself (token-like, as https://ghp_…@host).
   * Any URL's userinfo is scrubbed by pattern as well, so an account name such as `postgres`
   * is hidden where it stands in a URL without being scrubbed from every sentence.
   */
  addUrl(url: string | undefined): void {
    if (!url) return;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return; // Not a URL: nothing to remember.
    }
    const decode = (v: string) => {
      try {
        return decodeURIComponent(v);
      } catch {
        return v;
      }
    };
    const user = decode(parsed.username);
    if (parsed.password) {
      this.add(decode(parsed.password));
      this.add(parsed.password);
    }
    if (user && isTokenLike(user)) {
      this.add(user);
      this.add(parsed.username);
    }
  }

  /** Every secret this redactor knows, now and later, is known to `other` too. */
  share(other: Redactor): void {
    for (const s of this.known) other.known.add(s);
    other.knownPattern = undefined;
    this.followers.push(other);
  }

  /**
   * The text with every known secret and every secret-shaped string replaced. Fast path: the
   * known secrets are looked for in one scan, and the patterns run only over text holding one
   * of the literals they need (MAY_MATCH_A_PATTERN), so plain text costs two scans, not ten.
   */
  redact(text: string): string {
    let out = text;
    const known = this.secretsPattern();
    if (known) {
      known.lastIndex = 0;
      if (known.test(out)) out = out.replace(known, REDACTED);
    }
    if (!MAY_MATCH_A_PATTERN.test(out)) return out;
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }

  private secretsPattern(): RegExp | null {
    if (this.knownPattern === undefined) {
      // Longest first: where one secret holds another, the whole of the longer one goes.
      const all = [...this.known].sort((a, b) => b.length - a.length).map(escapeRegExp);
      this.knownPattern = all.length ? new RegExp(all.join('|'), 'g') : null;
    }
    return this.knownPattern;
  }

  /**
   * Redacts log lines one by one, and also the lines between a private key's BEGIN and END
   * lines, which no single line shows to be secret.
   */
  redactLines(lines: readonly string[]): string[] {
    let inKey = false;
    return lines.map((line) => {
      if (inKey) {
        if (PEM_END.test(line)) inKey = false;
        return REDACTED;
      }
      if (PEM_BEGIN.test(line) && !PEM_END.test(line)) inKey = true;
      return this.redact(line);
    });
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
