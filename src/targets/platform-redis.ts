// The platform's Redis: queue, worker registry, heartbeats and cache namespaces. Every call
// has a deadline; the client reconnects by itself when the server comes back. ioredis is
// loaded only when DMP_REDIS_URL is set (dynamic import): a bot without it never loads it.
import type { Redis } from 'ioredis';
import { deadline } from '../async.js';
import { ErrorCode, NotConfigured, TargetError } from '../errors.js';
import type { Logger } from '../log.js';

export interface PlatformRedis {
  readonly configured: boolean;
  /** Key prefix (tests and shared servers); applied by ioredis to commands, not to SCAN patterns. */
  readonly prefix: string;
  run<T>(fn: (redis: Redis) => Promise<T>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

const HINT = 'set DMP_REDIS_URL to the platform Redis';

export async function createPlatformRedis(
  url: string | undefined,
  prefix: string,
  log: Logger,
  defaultTimeoutMs = 2_000,
): Promise<PlatformRedis> {
  if (!url) {
    return {
      configured: false,
      prefix,
      run: async () => {
        throw new NotConfigured('redis', HINT);
      },
      close: async () => {},
    };
  }
  const { Redis, ReplyError } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: true,
    keyPrefix: prefix || undefined,
    connectTimeout: 2_000,
    commandTimeout: defaultTimeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 250, 2_000),
  });
  let lastError = '';
  redis.on('error', (err: Error) => {
    if (err.message !== lastError) log.warn({ err }, 'platform redis error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    lastError = '';
  });

  return {
    configured: true,
    prefix,
    async run(fn, timeoutMs = defaultTimeoutMs) {
      return deadline(
        timeoutMs,
        async () => {
          try {
            if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
            return await fn(redis);
          } catch (err) {
            // ioredis rejects with plain Errors while it is not connected ("Connection is closed.",
            // "Stream isn't writeable…", "connect ETIMEDOUT"): its status, not their text, says why.
            if (err instanceof ReplyError || redis.status === 'ready') throw err;
            throw TargetError.from('redis', err, { otherwise: ErrorCode.TargetUnreachable });
          }
        },
        () => {
          throw TargetError.timedOut('redis', timeoutMs);
        },
      ).catch((err: unknown) => {
        throw TargetError.from('redis', err);
      });
    },
    async close() {
      redis.disconnect();
    },
  };
}
