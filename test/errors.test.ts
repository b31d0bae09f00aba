// classify() against real errors from the real clients: pg, ioredis, fetch (undici), AbortSignal.
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { deadline } from '../src/async.js';
import { classify, ErrorCode, NotConfigured, TargetError, UserError } from '../src/errors.js';
import { PG_ADMIN_URL } from './helpers/pg.js';
import { REDIS_URL } from './helpers/redis.js';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected the work to fail');
}

describe('classify', () => {
  it('says timed out for a query cancelled by statement_timeout (SQLSTATE 57014)', async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, statement_timeout: 10 });
    await client.connect();
    try {
      const err = await caught(() => client.query('SELECT pg_sleep(1)'));
      expect(err).toBeInstanceOf(pg.DatabaseError);
      expect((err as pg.DatabaseError).code).toBe('57014');
      expect(classify(err)).toBe(ErrorCode.TargetTimeout);
    } finally {
      await client.end();
    }
  });

  it('says failed for a query PostgreSQL rejects (a syntax error is an answer)', async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL });
    await client.connect();
    try {
      const err = await caught(() => client.query('SELEC 1'));
      expect((err as pg.DatabaseError).code).toBe('42601');
      expect(classify(err)).toBe(ErrorCode.TargetFailed);
    } finally {
      await client.end();
    }
  });

  it('says unreachable for a backend terminated by the administrator (SQLSTATE 57P01)', async () => {
    const victim = new pg.Client({ connectionString: PG_ADMIN_URL });
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await Promise.all([victim.connect(), admin.connect()]);
    victim.on('error', () => {});
    try {
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const pending = caught(() => victim.query('SELECT pg_sleep(5)'));
      await new Promise((r) => setTimeout(r, 100));
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const err = await pending;
      expect((err as pg.DatabaseError).code).toBe('57P01');
      expect(classify(err)).toBe(ErrorCode.TargetUnreachable);
    } finally {
      await Promise.allSettled([victim.end(), admin.end()]);
    }
  });

  it('says unreachable when PostgreSQL refuses the connection (ECONNREFUSED)', async () => {
    const port = await closedPort();
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres' });
    const err = await caught(() => client.connect());
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(classify(err)).toBe(ErrorCode.TargetUnreachable);
    expect(TargetError.from('postgres', err).sentence()).toMatch(/^PostgreSQL: unreachable: connect ECONNREFUSED/);
  });

  it('reads the cause of a failed fetch (undici puts ECONNREFUSED on err.cause)', async () => {
    const port = await closedPort();
    const err = await caught(() => fetch(`http://127.0.0.1:${port}/`));
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    expect(classify(err)).toBe(ErrorCode.TargetUnreachable);
  });

  it('says timed out for AbortSignal.timeout and for undici timeout codes', async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise((r) => setTimeout(r, 10));
    expect(classify(signal.reason)).toBe(ErrorCode.TargetTimeout);
    const connectTimeout = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
    });
    expect(classify(connectTimeout)).toBe(ErrorCode.TargetTimeout);
  });

  it('tells a Redis reply error from a Redis that is not there, by class', async () => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    try {
      const reply = await caught(() => redis.call('NO-SUCH-COMMAND'));
      expect((reply as Error).name).toBe('ReplyError');
      expect(classify(reply)).toBe(ErrorCode.TargetFailed);
    } finally {
      redis.disconnect();
    }
    const port = await closedPort();
    const gone = new Redis({
      host: '127.0.0.1',
      port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 20,
    });
    gone.on('error', () => {});
    try {
      const err = await caught(async () => {
        gone.connect().catch(() => {});
        return gone.get('k');
      });
      expect((err as Error).name).toBe('MaxRetriesPerRequestError');
      expect(classify(err)).toBe(ErrorCode.TargetUnreachable);
      expect(TargetError.from('redis', err).sentence()).toBe(
        'Redis: unreachable: connection refused, retrying in the background',
      );
    } finally {
      gone.disconnect();
    }
  });

  it('reads a Kubernetes ApiException by its HTTP code, not its message', () => {
    const apiException = Object.assign(new Error('HTTP-Code: 500 Message: Unknown API Status Code! Body: ...'), {
      code: 500,
      body: '{"kind":"Status","message":"etcd is down"}',
    });
    expect(classify(apiException)).toBe(ErrorCode.TargetFailed);
    expect(TargetError.from('kubernetes', apiException).sentence()).toBe('Kubernetes: answered HTTP 500: etcd is down');
  });

  it('keeps the code of the bot’s own errors and ignores what a message says', () => {
    expect(classify(new NotConfigured('redis', 'set DMP_REDIS_URL'))).toBe(ErrorCode.NotConfigured);
    expect(classify(new UserError('nope'))).toBe(ErrorCode.InvalidInput);
    expect(classify(new Error('connect ECONNREFUSED: timed out'))).toBe(ErrorCode.TargetFailed);
    expect(classify(new Error('Connection is closed.'), { otherwise: ErrorCode.TargetUnreachable })).toBe(
      ErrorCode.TargetUnreachable,
    );
  });
});

describe('a target call at its deadline', () => {
  it('aborts the work and says timed out after the deadline', async () => {
    let aborted = false;
    const err = await caught(() =>
      deadline(
        20,
        (signal) => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
          return new Promise(() => {});
        },
        () => {
          throw TargetError.timedOut('platform-api', 20);
        },
      ),
    );
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).code).toBe(ErrorCode.TargetTimeout);
    expect((err as TargetError).sentence()).toBe('Platform API: timed out: no answer within 20 ms');
    expect(aborted).toBe(true);
  });
});
