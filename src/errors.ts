// Coded errors: users see a sentence, logs see the cause, nobody sees a secret. Every error
// the bot makes carries a `.code` from ErrorCode (as Bolt's CodedError), and errors from client
// libraries are classified by class, SQLSTATE or errno code, never by their message text.
import { plainText, type RichText, richOf, type Text } from './domain/text.js';
import { Redactor } from './redact.js';

/**
 * The codes of the bot's errors. A const object rather than a TS `enum` so that the values stay
 * plain string literals (`e.code === 'not_configured'` keeps compiling and the type is erasable).
 */
export const ErrorCode = {
  /** A target has no URL/credentials configured. */
  NotConfigured: 'not_configured',
  /** Nothing answered: connection refused or reset, DNS failure, the client not connected. */
  TargetUnreachable: 'unreachable',
  /** Something may be listening but no answer came within the deadline. */
  TargetTimeout: 'timed_out',
  /** The target answered, with an error (HTTP status, SQL error, Redis reply error). */
  TargetFailed: 'failed',
  /** A user's request the bot cannot parse. */
  InvalidInput: 'invalid_input',
  /** A user's request the bot understood and refuses. */
  Refused: 'refused',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The base of the bot's own errors: a code to branch on, a message a person may read. */
export class DmpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DmpError';
  }
}

export type TargetName =
  | 'platform-api'
  | 'postgres'
  | 'redis'
  | 'kubernetes'
  | 'pagerduty'
  | 'slack'
  | 'github'
  | 'bot-store';

export const TARGET_LABEL: Record<TargetName, string> = {
  'platform-api': 'Platform API',
  postgres: 'PostgreSQL',
  redis: 'Redis',
  kubernetes: 'Kubernetes',
  pagerduty: 'PagerDuty',
  slack: 'Slack',
  github: 'GitHub',
  'bot-store': 'Bot store',
};

/** The codes a TargetError carries. */
export type TargetErrorCode =
  | typeof ErrorCode.NotConfigured
  | typeof ErrorCode.TargetUnreachable
  | typeof ErrorCode.TargetTimeout
  | typeof ErrorCode.TargetFailed;

export class TargetError extends DmpError {
  declare readonly code: TargetErrorCode;

  constructor(
    readonly target: TargetName,
    code: TargetErrorCode,
    detail: string,
    readonly hint?: string,
  ) {
    // Secret-shaped text (URL credentials, tokens) goes at once; the config's own secrets are
    // scrubbed by the bot's Redactor wherever the sentence leaves (Slack, logs, the HTTP edge).
    super(code, new Redactor().redact(detail));
    this.name = 'TargetError';
  }

  /** Classifies any error thrown by a client library into a TargetError for `target`. */
  static from(target: TargetName, err: unknown, opts: ClassifyOptions = {}): TargetError {
    if (err instanceof TargetError) return err;
    const code = classify(err, opts);
    const e = err as
      | { code?: unknown; name?: string; message?: string; body?: unknown; cause?: { message?: string } }
      | null
      | undefined;
    // client-node's ApiException: a numeric HTTP code and the body, perhaps a Kubernetes Status.
    if (typeof e?.code === 'number') {
      let reason = '';
      try {
        const status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string };
        reason = status?.message ? `: ${status.message}` : '';
      } catch {
        reason = ': the answer was not JSON';
      }
      return new TargetError(target, ErrorCode.TargetFailed, `answered HTTP ${e.code}${reason.slice(0, 300)}`);
    }
    const message = String(e?.message ?? err);
    if (e?.name === 'MaxRetriesPerRequestError')
      return new TargetError(target, ErrorCode.TargetUnreachable, 'connection refused, retrying in the background');
    switch (code) {
      case ErrorCode.TargetUnreachable:
        return new TargetError(target, code, e?.cause?.message ?? message);
      case ErrorCode.TargetTimeout:
      case ErrorCode.NotConfigured:
        return new TargetError(target, code, message);
      default:
        return new TargetError(target, ErrorCode.TargetFailed, message);
    }
  }

  /** The error of a call given up at its deadline (deadline()'s onTimeout throws it). */
  static timedOut(target: TargetName, ms: number): TargetError {
    return new TargetError(target, ErrorCode.TargetTimeout, `no answer within ${ms} ms`);
  }

  /** The one line a person reads: "PostgreSQL: unreachable: connect ECONNREFUSED 127.0.0.1:5999". */
  sentence(): string {
    const label = TARGET_LABEL[this.target];
    switch (this.code) {
      case ErrorCode.NotConfigured:
        return `${label}: not configured${this.hint ? ` (${this.hint})` : ''}`;
      case ErrorCode.TargetUnreachable:
        return `${label}: unreachable: ${this.message}`;
      case ErrorCode.TargetTimeout:
        return `${label}: timed out: ${this.message}`;
      case ErrorCode.TargetFailed:
        return `${label}: ${this.message}`;
    }
  }
}

export class NotConfigured extends TargetError {
  constructor(target: TargetName, hint: string) {
    super(target, ErrorCode.NotConfigured, 'not configured', hint);
  }
}

/**
 * A user's request the bot refuses or cannot parse. The sentence is words and values (a name shown
 * as code, a mention): blocks/ renders `text` for Slack and escapes it once; `message` is its plain
 * form, for logs.
 */
export class UserError extends DmpError {
  readonly text: RichText;

  constructor(message: Text, code: typeof ErrorCode.InvalidInput | typeof ErrorCode.Refused = ErrorCode.InvalidInput) {
    super(code, plainText(message));
    this.text = richOf(message);
    this.name = 'UserError';
  }
}

/** Names of the Node/undici error codes (err.code or err.cause.code) that mean "nothing answered". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EAI_AGAIN',
  // A connect that never completed: the host is not there (ioredis's connectTimeout says so too).
  'ETIMEDOUT',
  // undici: the server closed the connection (a pooled socket to a server that went away).
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** undici's own timeouts: something listened but did not answer in time. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** PostgreSQL SQLSTATEs that mean the server is going or gone, rather than the query being wrong. */
const PG_UNREACHABLE = new Set(['57P01', '57P02', '57P03', '53300']);

/** A five-character SQLSTATE, as pg's DatabaseError (and PGlite's) carry in `.code`. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export interface ClassifyOptions {
  /**
   * The code for an error the classifier has no class or code for. An adapter that knows its
   * client is not connected (pg's client-side errors, ioredis's while reconnecting) passes
   * TargetUnreachable; the default is TargetFailed.
   */
  otherwise?: ErrorCode;
}

/**
 * What kind of failure `err` is: the bot's own errors by their code, AbortError/TimeoutError by
 * name, PostgreSQL by SQLSTATE, Node and undici by errno code (on the error or its cause),
 * ioredis by class, a Kubernetes ApiException (numeric HTTP `.code`) as an answer that failed.
 */
export function classify(err: unknown, opts: ClassifyOptions = {}): ErrorCode {
  if (err instanceof DmpError) return err.code;
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown; name?: unknown } } | null | undefined;
  if (!e || typeof e !== 'object') return opts.otherwise ?? ErrorCode.TargetFailed;
  // AbortSignal.timeout() → TimeoutError; an aborted fetch or redis-errors' AbortError → AbortError.
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.cause?.name === 'TimeoutError')
    return ErrorCode.TargetTimeout;
  if (typeof e.code === 'number') return ErrorCode.TargetFailed; // client-node's ApiException: an HTTP answer
  const state = sqlState(err);
  if (state) {
    if (state === '57014') return ErrorCode.TargetTimeout; // query_canceled (statement_timeout)
    if (state.startsWith('08') || PG_UNREACHABLE.has(state)) return ErrorCode.TargetUnreachable;
    return ErrorCode.TargetFailed;
  }
  for (const code of [e.code, e.cause?.code]) {
    if (typeof code !== 'string') continue;
    if (TIMEOUT_CODES.has(code)) return ErrorCode.TargetTimeout;
    if (UNREACHABLE_CODES.has(code)) return ErrorCode.TargetUnreachable;
  }
  // ioredis: the command was given up after the reconnects allowed per request.
  if (e.name === 'MaxRetriesPerRequestError') return ErrorCode.TargetUnreachable;
  // ioredis's ReplyError: the server answered with an error.
  if (e.name === 'ReplyError') return ErrorCode.TargetFailed;
  return opts.otherwise ?? ErrorCode.TargetFailed;
}
