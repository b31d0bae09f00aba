// An in-memory stand-in for a Redis server that speaks RESP2 on 127.0.0.1, so ioredis (and
// redis-cli) connect to it unchanged. It keeps strings, lists, hashes, sets and sorted sets
// with expiry, and answers the commands the bot and the platform's own Redis usage need:
// queue and worker registry reads, SCAN with MATCH/COUNT/TYPE (a cursor that survives
// deletions, so SCAN-and-UNLINK batches miss nothing), UNLINK, FLUSHDB, and INFO with the
// server, clients, memory, persistence, stats, replication and keyspace sections.
// Used by `npm run sandbox`, where a newcomer has no Redis server; never a production store.
import { createServer, type Server, type Socket } from 'node:net';

export type Reply = string | number | null | Reply[] | { ok: string } | { err: string };

type Value =
  | { type: 'string'; v: string }
  | { type: 'list'; v: string[] }
  | { type: 'hash'; v: Map<string, string> }
  | { type: 'set'; v: Set<string> }
  | { type: 'zset'; v: Map<string, number> };

interface Entry {
  value: Value;
  /** Insertion sequence: the SCAN cursor orders by it, so deleting keys never skips others. */
  seq: number;
  expiresAt?: number;
}

interface Session {
  db: number;
  name: string;
  id: number;
  multi?: string[][];
  socket?: Socket;
}

export interface RedisFakeOptions {
  host?: string;
  port?: number;
  /** Reported as `redis_version`. */
  version?: string;
  /** Bytes added to the estimated data size in INFO memory (a real server's baseline and fragmentation). */
  memoryBaseBytes?: number;
  maxmemoryBytes?: number;
  clock?: () => number;
}

export interface RedisFake {
  /** `redis://127.0.0.1:PORT/0` */
  readonly url: string;
  readonly port: number;
  /** Runs one command in-process, as a client on `db` would (seeding and simulation use it). */
  exec(args: Array<string | number>, db?: number): Reply;
  /** Adds to the keyspace_hits / keyspace_misses counters INFO stats reports. */
  addStats(stats: { hits?: number; misses?: number; evicted?: number }): void;
  /** Every command received over the wire, upper-cased name first, newest last (bounded). */
  readonly commands: string[][];
  connections(): number;
  close(): Promise<void>;
}

const ERR_WRONGTYPE = { err: 'WRONGTYPE Operation against a key holding the wrong kind of value' };
const ERR_SYNTAX = { err: 'ERR syntax error' };
const ERR_INT = { err: 'ERR value is not an integer or out of range' };
const ERR_FLOAT = { err: 'ERR value is not a valid float' };
const OK = { ok: 'OK' };
const DATABASES = 16;
const MAX_LOGGED = 2_000;

class CommandError extends Error {}

/** Redis glob-style MATCH (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\x`) as a RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      re += escapeRe(pattern[++i] as string);
    } else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function int(text: string | undefined): number {
  if (text === undefined || !/^-?\d+$/.test(text)) throw new CommandError(ERR_INT.err);
  return Number(text);
}

/** A score bound: `-inf`, `+inf`, `(5` (exclusive) or `5`. */
function scoreBound(text: string | undefined): { value: number; open: boolean } {
  if (text === undefined) throw new CommandError(ERR_SYNTAX.err);
  const open = text.startsWith('(');
  const raw = open ? text.slice(1) : text;
  const value = /^[+]?inf$/i.test(raw)
    ? Number.POSITIVE_INFINITY
    : /^-inf$/i.test(raw)
      ? Number.NEGATIVE_INFINITY
      : Number(raw);
  if (Number.isNaN(value) || raw === '') throw new CommandError('ERR min or max is not a float');
  return { value, open };
}

function formatScore(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return 'inf';
  if (n === Number.NEGATIVE_INFINITY) return '-inf';
  return String(n);
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(2)}${units[u]}`;
}

/** Slices like LRANGE/ZRANGE: inclusive, negative indexes from the end. */
function rangeOf(length: number, startText: string | undefined, stopText: string | undefined): [number, number] {
  let start = int(startText);
  let stop = int(stopText);
  if (start < 0) start = Math.max(0, length + start);
  if (stop < 0) stop = length + stop;
  stop = Math.min(stop, length - 1);
  return [start, stop];
}

function encode(reply: Reply): string {
  if (reply === null) return '$-1\r\n';
  if (typeof reply === 'number') return `:${Math.trunc(reply)}\r\n`;
  if (typeof reply === 'string') return `$${Buffer.byteLength(reply)}\r\n${reply}\r\n`;
  if (Array.isArray(reply)) return `*${reply.length}\r\n${reply.map(encode).join('')}`;
  if ('ok' in reply) return `+${reply.ok}\r\n`;
  return `-${reply.err}\r\n`;
}

/** Parses RESP arrays of bulk strings and inline commands; returns the commands and the rest. */
function parseCommands(buf: Buffer): { commands: string[][]; rest: Buffer; error?: string } {
  const commands: string[][] = [];
  let i = 0;
  while (i < buf.length) {
    if (buf[i] === 0x2a) {
      const eol = buf.indexOf('\r\n', i);
      if (eol < 0) break;
      const n = Number(buf.subarray(i + 1, eol).toString());
      if (!Number.isInteger(n) || n > 1_048_576)
        return { commands, rest: Buffer.alloc(0), error: 'Protocol error: invalid multibulk length' };
      let j = eol + 2;
      const args: string[] = [];
      let complete = true;
      for (let k = 0; k < n; k++) {
        if (j >= buf.length) {
          complete = false;
          break;
        }
        if (buf[j] !== 0x24)
          return {
            commands,
            rest: Buffer.alloc(0),
            error: `Protocol error: expected '$', got '${String.fromCharCode(buf[j] ?? 0)}'`,
          };
        const e = buf.indexOf('\r\n', j);
        if (e < 0) {
          complete = false;
          break;
        }
        const len = Number(buf.subarray(j + 1, e).toString());
        if (!Number.isInteger(len) || len < 0 || len > 512 * 1024 * 1024)
          return { commands, rest: Buffer.alloc(0), error: 'Protocol error: invalid bulk length' };
        if (e + 2 + len + 2 > buf.length) {
          complete = false;
          break;
        }
        args.push(buf.subarray(e + 2, e + 2 + len).toString('utf8'));
        j = e + 2 + len + 2;
      }
      if (!complete) break;
      if (args.length) commands.push(args);
      i = j;
    } else {
      const eol = buf.indexOf('\n', i);
      if (eol < 0) break;
      const line = buf.subarray(i, eol).toString('utf8').replace(/\r$/, '').trim();
      if (line) commands.push(line.split(/\s+/));
      i = eol + 1;
    }
  }
  return { commands, rest: buf.subarray(i) };
}

export async function startRedisFake(opts: RedisFakeOptions = {}): Promise<RedisFake> {
  const host = opts.host ?? '127.0.0.1';
  const clock = opts.clock ?? Date.now;
  const started = clock();
  const dbs: Array<Map<string, Entry>> = Array.from({ length: DATABASES }, () => new Map());
  const sessions = new Set<Session>();
  const commands: string[][] = [];
  let seq = 0;
  let nextClientId = 1;
  let totalCommands = 0;
  let totalConnections = 0;
  const stats = { hits: 0, misses: 0, expired: 0, evicted: 0 };

  // --- keyspace

  const live = (db: number, key: string): Entry | undefined => {
    const map = dbs[db] as Map<string, Entry>;
    const e = map.get(key);
    if (e?.expiresAt !== undefined && e.expiresAt <= clock()) {
      map.delete(key);
      stats.expired += 1;
      return undefined;
    }
    return e;
  };

  const read = <T extends Value['type']>(
    db: number,
    key: string,
    type: T,
    count = false,
  ): Extract<Value, { type: T }> | undefined => {
    const e = live(db, key);
    if (count) {
      if (e) stats.hits += 1;
      else stats.misses += 1;
    }
    if (!e) return undefined;
    if (e.value.type !== type) throw new CommandError(ERR_WRONGTYPE.err);
    return e.value as Extract<Value, { type: T }>;
  };

  const write = <T extends Value['type']>(
    db: number,
    key: string,
    type: T,
    make: () => Extract<Value, { type: T }>,
  ): Extract<Value, { type: T }> => {
    const existing = read(db, key, type);
    if (existing) return existing;
    const value = make();
    (dbs[db] as Map<string, Entry>).set(key, { value, seq: ++seq });
    return value;
  };

  const setValue = (db: number, key: string, value: Value, expiresAt?: number): void => {
    const map = dbs[db] as Map<string, Entry>;
    map.delete(key);
    map.set(key, { value, seq: ++seq, ...(expiresAt === undefined ? {} : { expiresAt }) });
  };

  /** Containers left empty disappear, as in Redis. */
  const dropIfEmpty = (db: number, key: string): void => {
    const e = (dbs[db] as Map<string, Entry>).get(key);
    if (!e) return;
    const v = e.value;
    const size = v.type === 'string' ? 1 : v.type === 'list' ? v.v.length : v.v.size;
    if (size === 0) (dbs[db] as Map<string, Entry>).delete(key);
  };

  const del = (db: number, keys: string[]): number => {
    let n = 0;
    for (const k of keys) if (live(db, k) && (dbs[db] as Map<string, Entry>).delete(k)) n += 1;
    return n;
  };

  const sizeOf = (e: Entry, key: string): number => {
    const v = e.value;
    let n = key.length + 56;
    if (v.type === 'string') n += v.v.length;
    else if (v.type === 'list' || v.type === 'set') for (const x of v.v) n += x.length + 24;
    else if (v.type === 'hash') for (const [f, x] of v.v) n += f.length + x.length + 32;
    else for (const [m] of v.v) n += m.length + 40;
    return n;
  };

  const usedMemory = (): number => {
    let n = opts.memoryBaseBytes ?? 1_048_576;
    for (const map of dbs) for (const [k, e] of map) n += sizeOf(e, k);
    return n;
  };

  const sortedRange = (z: Map<string, number>): Array<[string, number]> =>
    [...z.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

  const withScores = (pairs: Array<[string, number]>, scores: boolean): Reply[] =>
    scores ? pairs.flatMap(([m, s]) => [m, formatScore(s)]) : pairs.map(([m]) => m);

  const byScore = (
    pairs: Array<[string, number]>,
    min: { value: number; open: boolean },
    max: { value: number; open: boolean },
  ): Array<[string, number]> =>
    pairs.filter(([, s]) => (min.open ? s > min.value : s >= min.value) && (max.open ? s < max.value : s <= max.value));

  const limitOf = (args: string[], from: number): { offset: number; count: number; scores: boolean } => {
    let offset = 0;
    let count = -1;
    let scores = false;
    for (let i = from; i < args.length; i++) {
      const a = (args[i] as string).toUpperCase();
      if (a === 'WITHSCORES') scores = true;
      else if (a === 'LIMIT') {
        offset = int(args[i + 1]);
        count = int(args[i + 2]);
        i += 2;
      } else throw new CommandError(ERR_SYNTAX.err);
    }
    return { offset, count, scores };
  };

  const applyLimit = <T>(items: T[], offset: number, count: number): T[] =>
    count < 0 ? items.slice(offset) : items.slice(offset, offset + count);

  const info = (sections: string[]): string => {
    const want = new Set(sections.map((s) => s.toLowerCase()));
    const all = want.size === 0 || want.has('all') || want.has('everything') || want.has('default');
    const out: string[] = [];
    const add = (name: string, lines: Array<[string, string | number]>) => {
      if (!all && !want.has(name.toLowerCase())) return;
      if (out.length) out.push('');
      out.push(`# ${name}`, ...lines.map(([k, v]) => `${k}:${v}`));
    };
    const uptime = Math.floor((clock() - started) / 1000);
    add('Server', [
      ['redis_version', opts.version ?? '7.2.4'],
      ['redis_mode', 'standalone'],
      ['os', 'dmp-sandbox in-memory stand-in'],
      ['arch_bits', 64],
      ['process_id', process.pid],
      ['tcp_port', port],
      ['uptime_in_seconds', uptime],
      ['uptime_in_days', Math.floor(uptime / 86_400)],
    ]);
    add('Clients', [
      ['connected_clients', sessions.size],
      ['blocked_clients', 0],
    ]);
    const used = usedMemory();
    const max = opts.maxmemoryBytes ?? 0;
    add('Memory', [
      ['used_memory', used],
      ['used_memory_human', humanBytes(used)],
      ['used_memory_rss', Math.round(used * 1.18)],
      ['used_memory_rss_human', humanBytes(Math.round(used * 1.18))],
      ['used_memory_peak', Math.round(used * 1.07)],
      ['used_memory_peak_human', humanBytes(Math.round(used * 1.07))],
      ['maxmemory', max],
      ['maxmemory_human', humanBytes(max)],
      ['maxmemory_policy', 'allkeys-lru'],
      ['mem_fragmentation_ratio', '1.18'],
    ]);
    add('Persistence', [
      ['loading', 0],
      ['rdb_changes_since_last_save', 0],
      ['aof_enabled', 0],
    ]);
    add('Stats', [
      ['total_connections_received', totalConnections],
      ['total_commands_processed', totalCommands],
      ['instantaneous_ops_per_sec', 0],
      ['expired_keys', stats.expired],
      ['evicted_keys', stats.evicted],
      ['keyspace_hits', stats.hits],
      ['keyspace_misses', stats.misses],
    ]);
    add('Replication', [
      ['role', 'master'],
      ['connected_slaves', 0],
    ]);
    const keyspace: Array<[string, string]> = [];
    dbs.forEach((map, i) => {
      let keys = 0;
      let expires = 0;
      for (const k of [...map.keys()]) {
        const e = live(i, k);
        if (!e) continue;
        keys += 1;
        if (e.expiresAt !== undefined) expires += 1;
      }
      if (keys) keyspace.push([`db${i}`, `keys=${keys},expires=${expires},avg_ttl=0`]);
    });
    add('Keyspace', keyspace);
    return `${out.join('\r\n')}\r\n`;
  };

  // --- commands

  const run = (session: Session, args: string[]): Reply => {
    const name = (args[0] ?? '').toUpperCase();
    const a = args.slice(1);
    const db = session.db;
    const need = (min: number) => {
      if (a.length < min) throw new CommandError(`ERR wrong number of arguments for '${name.toLowerCase()}' command`);
    };
    const key = a[0] as string;

    if (session.multi && !['EXEC', 'DISCARD', 'MULTI'].includes(name)) {
      session.multi.push(args);
      return { ok: 'QUEUED' };
    }

    switch (name) {
      // connection and server
      case 'PING':
        return a[0] === undefined ? { ok: 'PONG' } : a[0];
      case 'ECHO':
        need(1);
        return key;
      case 'QUIT':
        return OK;
      case 'SELECT': {
        need(1);
        const n = int(key);
        if (n < 0 || n >= DATABASES) return { err: 'ERR DB index is out of range' };
        session.db = n;
        return OK;
      }
      case 'CLIENT': {
        const sub = (key ?? '').toUpperCase();
        if (sub === 'SETNAME') {
          session.name = a[1] ?? '';
          return OK;
        }
        if (sub === 'GETNAME') return session.name || null;
        if (sub === 'ID') return session.id;
        if (sub === 'SETINFO') return OK;
        if (sub === 'LIST' || sub === 'INFO') {
          const list = sub === 'INFO' ? [session] : [...sessions];
          return `${list.map((s) => `id=${s.id} addr=${s.socket?.remoteAddress ?? '127.0.0.1'}:${s.socket?.remotePort ?? 0} name=${s.name} db=${s.db} cmd=client`).join('\n')}\n`;
        }
        return { err: `ERR unknown subcommand '${key ?? ''}'` };
      }
      case 'HELLO':
        // RESP3 is not spoken here; clients fall back to RESP2 as they do with Redis 5.
        return { err: "ERR unknown command 'HELLO'" };
      case 'INFO':
        return info(a);
      case 'DBSIZE': {
        let n = 0;
        for (const k of [...(dbs[db] as Map<string, Entry>).keys()]) if (live(db, k)) n += 1;
        return n;
      }
      case 'FLUSHDB':
        (dbs[db] as Map<string, Entry>).clear();
        return OK;
      case 'FLUSHALL':
        for (const map of dbs) map.clear();
        return OK;
      case 'TIME': {
        const now = clock();
        return [String(Math.floor(now / 1000)), String((now % 1000) * 1000)];
      }
      case 'COMMAND':
        return [];
      case 'CONFIG': {
        const sub = (key ?? '').toUpperCase();
        if (sub === 'SET') return OK;
        if (sub !== 'GET') return { err: `ERR unknown subcommand '${key ?? ''}'` };
        const values: Record<string, string> = {
          maxmemory: String(opts.maxmemoryBytes ?? 0),
          'maxmemory-policy': 'allkeys-lru',
          databases: String(DATABASES),
          appendonly: 'no',
          save: '',
        };
        const re = globToRegExp(a[1] ?? '*');
        return Object.entries(values)
          .filter(([k]) => re.test(k))
          .flat();
      }
      case 'MULTI':
        if (session.multi) return { err: 'ERR MULTI calls can not be nested' };
        session.multi = [];
        return OK;
      case 'DISCARD':
        if (!session.multi) return { err: 'ERR DISCARD without MULTI' };
        session.multi = undefined;
        return OK;
      case 'EXEC': {
        if (!session.multi) return { err: 'ERR EXEC without MULTI' };
        const queued = session.multi;
        session.multi = undefined;
        return queued.map((c) => safeRun(session, c));
      }

      // keys
      case 'DEL':
      case 'UNLINK':
        need(1);
        return del(db, a);
      case 'EXISTS':
        need(1);
        return a.filter((k) => live(db, k)).length;
      case 'TYPE':
        need(1);
        return { ok: live(db, key)?.value.type ?? 'none' };
      case 'TTL':
      case 'PTTL': {
        need(1);
        const e = live(db, key);
        if (!e) return -2;
        if (e.expiresAt === undefined) return -1;
        const ms = e.expiresAt - clock();
        return name === 'TTL' ? Math.ceil(ms / 1000) : ms;
      }
      case 'EXPIRE':
      case 'PEXPIRE': {
        need(2);
        const e = live(db, key);
        if (!e) return 0;
        e.expiresAt = clock() + int(a[1]) * (name === 'EXPIRE' ? 1000 : 1);
        return 1;
      }
      case 'PERSIST': {
        need(1);
        const e = live(db, key);
        if (!e || e.expiresAt === undefined) return 0;
        e.expiresAt = undefined;
        return 1;
      }
      case 'KEYS': {
        need(1);
        const re = globToRegExp(key);
        return [...(dbs[db] as Map<string, Entry>).keys()].filter((k) => re.test(k) && live(db, k));
      }
      case 'SCAN': {
        need(1);
        const cursor = int(key);
        let match: RegExp | undefined;
        let count = 10;
        let type: string | undefined;
        for (let i = 1; i < a.length; i += 2) {
          const opt = (a[i] as string).toUpperCase();
          const v = a[i + 1];
          if (v === undefined) throw new CommandError(ERR_SYNTAX.err);
          if (opt === 'MATCH') match = globToRegExp(v);
          else if (opt === 'COUNT') count = Math.max(1, int(v));
          else if (opt === 'TYPE') type = v.toLowerCase();
          else throw new CommandError(ERR_SYNTAX.err);
        }
        const found: string[] = [];
        let examined = 0;
        let last = 0;
        let more = false;
        for (const [k, e] of dbs[db] as Map<string, Entry>) {
          if (e.seq <= cursor) continue;
          if (examined >= count) {
            more = true;
            break;
          }
          examined += 1;
          last = e.seq;
          if (!live(db, k)) continue;
          if (match && !match.test(k)) continue;
          if (type && e.value.type !== type) continue;
          found.push(k);
        }
        return [more ? String(last) : '0', found];
      }
      case 'RENAME': {
        need(2);
        const e = live(db, key);
        if (!e) return { err: 'ERR no such key' };
        (dbs[db] as Map<string, Entry>).delete(key);
        setValue(db, a[1] as string, e.value, e.expiresAt);
        return OK;
      }
      case 'RANDOMKEY': {
        const keys = [...(dbs[db] as Map<string, Entry>).keys()].filter((k) => live(db, k));
        return keys.length ? (keys[Math.floor(Math.random() * keys.length)] as string) : null;
      }
      case 'MEMORY': {
        if ((key ?? '').toUpperCase() !== 'USAGE') return { err: `ERR unknown subcommand '${key ?? ''}'` };
        const e = live(db, a[1] ?? '');
        return e ? sizeOf(e, a[1] as string) : null;
      }

      // strings
      case 'GET': {
        need(1);
        return read(db, key, 'string', true)?.v ?? null;
      }
      case 'MGET':
        need(1);
        return a.map((k) => {
          const e = live(db, k);
          if (e) stats.hits += 1;
          else stats.misses += 1;
          return e?.value.type === 'string' ? e.value.v : null;
        });
      case 'SET': {
        need(2);
        let expiresAt: number | undefined;
        let nx = false;
        let xx = false;
        let keepTtl = false;
        for (let i = 2; i < a.length; i++) {
          const opt = (a[i] as string).toUpperCase();
          if (opt === 'EX') expiresAt = clock() + int(a[++i]) * 1000;
          else if (opt === 'PX') expiresAt = clock() + int(a[++i]);
          else if (opt === 'NX') nx = true;
          else if (opt === 'XX') xx = true;
          else if (opt === 'KEEPTTL') keepTtl = true;
          else throw new CommandError(ERR_SYNTAX.err);
        }
        const existing = live(db, key);
        if ((nx && existing) || (xx && !existing)) return null;
        setValue(db, key, { type: 'string', v: a[1] as string }, keepTtl ? existing?.expiresAt : expiresAt);
        return OK;
      }
      case 'SETEX':
        need(3);
        setValue(db, key, { type: 'string', v: a[2] as string }, clock() + int(a[1]) * 1000);
        return OK;
      case 'MSET':
        if (a.length === 0 || a.length % 2) throw new CommandError(`ERR wrong number of arguments for 'mset' command`);
        for (let i = 0; i < a.length; i += 2) setValue(db, a[i] as string, { type: 'string', v: a[i + 1] as string });
        return OK;
      case 'INCR':
      case 'DECR':
      case 'INCRBY':
      case 'DECRBY': {
        need(name.endsWith('BY') ? 2 : 1);
        const by = name.endsWith('BY') ? int(a[1]) : 1;
        const current = read(db, key, 'string');
        const n = current ? int(current.v) : 0;
        const next = n + (name.startsWith('INCR') ? by : -by);
        setValue(db, key, { type: 'string', v: String(next) }, live(db, key)?.expiresAt);
        return next;
      }
      case 'APPEND': {
        need(2);
        const s = write(db, key, 'string', () => ({ type: 'string', v: '' }));
        s.v += a[1] as string;
        return Buffer.byteLength(s.v);
      }
      case 'STRLEN':
        need(1);
        return Buffer.byteLength(read(db, key, 'string')?.v ?? '');

      // lists
      case 'LPUSH':
      case 'RPUSH': {
        need(2);
        const l = write(db, key, 'list', () => ({ type: 'list', v: [] }));
        for (const v of a.slice(1)) {
          if (name === 'LPUSH') l.v.unshift(v);
          else l.v.push(v);
        }
        return l.v.length;
      }
      case 'LPOP':
      case 'RPOP': {
        need(1);
        const l = read(db, key, 'list');
        if (!l) return null;
        const n = a[1] === undefined ? 1 : int(a[1]);
        const taken = name === 'LPOP' ? l.v.splice(0, n) : l.v.splice(Math.max(0, l.v.length - n), n).reverse();
        dropIfEmpty(db, key);
        return a[1] === undefined ? (taken[0] ?? null) : taken;
      }
      case 'LLEN':
        need(1);
        return read(db, key, 'list')?.v.length ?? 0;
      case 'LRANGE': {
        need(3);
        const l = read(db, key, 'list', true);
        if (!l) return [];
        const [start, stop] = rangeOf(l.v.length, a[1], a[2]);
        return start > stop ? [] : l.v.slice(start, stop + 1);
      }
      case 'LINDEX': {
        need(2);
        const l = read(db, key, 'list', true);
        if (!l) return null;
        const i = int(a[1]);
        return l.v[i < 0 ? l.v.length + i : i] ?? null;
      }
      case 'LREM': {
        need(3);
        const l = read(db, key, 'list');
        if (!l) return 0;
        let count = int(a[1]);
        const value = a[2] as string;
        let removed = 0;
        if (count >= 0) {
          const limit = count === 0 ? Number.POSITIVE_INFINITY : count;
          l.v = l.v.filter((x) => !(x === value && removed < limit && ++removed));
        } else {
          count = -count;
          for (let i = l.v.length - 1; i >= 0 && removed < count; i--) {
            if (l.v[i] === value) {
              l.v.splice(i, 1);
              removed += 1;
            }
          }
        }
        dropIfEmpty(db, key);
        return removed;
      }
      case 'LTRIM': {
        need(3);
        const l = read(db, key, 'list');
        if (!l) return OK;
        const [start, stop] = rangeOf(l.v.length, a[1], a[2]);
        l.v = start > stop ? [] : l.v.slice(start, stop + 1);
        dropIfEmpty(db, key);
        return OK;
      }

      // hashes
      case 'HSET':
      case 'HMSET': {
        if (a.length < 3 || (a.length - 1) % 2)
          throw new CommandError(`ERR wrong number of arguments for '${name.toLowerCase()}' command`);
        const h = write(db, key, 'hash', () => ({ type: 'hash', v: new Map() }));
        let added = 0;
        for (let i = 1; i < a.length; i += 2) {
          if (!h.v.has(a[i] as string)) added += 1;
          h.v.set(a[i] as string, a[i + 1] as string);
        }
        return name === 'HMSET' ? OK : added;
      }
      case 'HGET':
        need(2);
        return read(db, key, 'hash', true)?.v.get(a[1] as string) ?? null;
      case 'HMGET': {
        need(2);
        const h = read(db, key, 'hash', true);
        return a.slice(1).map((f) => h?.v.get(f) ?? null);
      }
      case 'HGETALL': {
        need(1);
        const h = read(db, key, 'hash', true);
        return h ? [...h.v.entries()].flat() : [];
      }
      case 'HDEL': {
        need(2);
        const h = read(db, key, 'hash');
        if (!h) return 0;
        let n = 0;
        for (const f of a.slice(1)) if (h.v.delete(f)) n += 1;
        dropIfEmpty(db, key);
        return n;
      }
      case 'HLEN':
        need(1);
        return read(db, key, 'hash')?.v.size ?? 0;
      case 'HKEYS':
        need(1);
        return [...(read(db, key, 'hash')?.v.keys() ?? [])];
      case 'HVALS':
        need(1);
        return [...(read(db, key, 'hash')?.v.values() ?? [])];
      case 'HEXISTS':
        need(2);
        return read(db, key, 'hash')?.v.has(a[1] as string) ? 1 : 0;
      case 'HINCRBY': {
        need(3);
        const h = write(db, key, 'hash', () => ({ type: 'hash', v: new Map() }));
        const next = int(h.v.get(a[1] as string) ?? '0') + int(a[2]);
        h.v.set(a[1] as string, String(next));
        return next;
      }

      // sets
      case 'SADD': {
        need(2);
        const s = write(db, key, 'set', () => ({ type: 'set', v: new Set() }));
        let n = 0;
        for (const m of a.slice(1)) {
          if (!s.v.has(m)) n += 1;
          s.v.add(m);
        }
        return n;
      }
      case 'SREM': {
        need(2);
        const s = read(db, key, 'set');
        if (!s) return 0;
        let n = 0;
        for (const m of a.slice(1)) if (s.v.delete(m)) n += 1;
        dropIfEmpty(db, key);
        return n;
      }
      case 'SMEMBERS':
        need(1);
        return [...(read(db, key, 'set', true)?.v ?? [])];
      case 'SCARD':
        need(1);
        return read(db, key, 'set')?.v.size ?? 0;
      case 'SISMEMBER':
        need(2);
        return read(db, key, 'set')?.v.has(a[1] as string) ? 1 : 0;

      // sorted sets
      case 'ZADD': {
        need(3);
        let i = 1;
        const flags = new Set<string>();
        while (i < a.length && ['NX', 'XX', 'CH', 'GT', 'LT', 'INCR'].includes((a[i] as string).toUpperCase()))
          flags.add((a[i++] as string).toUpperCase());
        const pairs = a.slice(i);
        if (pairs.length === 0 || pairs.length % 2) throw new CommandError(ERR_SYNTAX.err);
        const z = write(db, key, 'zset', () => ({ type: 'zset', v: new Map() }));
        let added = 0;
        let changed = 0;
        for (let j = 0; j < pairs.length; j += 2) {
          const score = Number(pairs[j]);
          if (Number.isNaN(score)) throw new CommandError(ERR_FLOAT.err);
          const member = pairs[j + 1] as string;
          const old = z.v.get(member);
          if (old === undefined && flags.has('XX')) continue;
          if (old !== undefined && flags.has('NX')) continue;
          if (old !== undefined && flags.has('GT') && score <= old) continue;
          if (old !== undefined && flags.has('LT') && score >= old) continue;
          if (old === undefined) added += 1;
          else if (old !== score) changed += 1;
          z.v.set(member, flags.has('INCR') ? (old ?? 0) + score : score);
        }
        dropIfEmpty(db, key);
        return flags.has('CH') ? added + changed : added;
      }
      case 'ZINCRBY': {
        need(3);
        const z = write(db, key, 'zset', () => ({ type: 'zset', v: new Map() }));
        const by = Number(a[1]);
        if (Number.isNaN(by)) throw new CommandError(ERR_FLOAT.err);
        const next = (z.v.get(a[2] as string) ?? 0) + by;
        z.v.set(a[2] as string, next);
        return formatScore(next);
      }
      case 'ZREM': {
        need(2);
        const z = read(db, key, 'zset');
        if (!z) return 0;
        let n = 0;
        for (const m of a.slice(1)) if (z.v.delete(m)) n += 1;
        dropIfEmpty(db, key);
        return n;
      }
      case 'ZCARD':
        need(1);
        return read(db, key, 'zset')?.v.size ?? 0;
      case 'ZSCORE': {
        need(2);
        const s = read(db, key, 'zset', true)?.v.get(a[1] as string);
        return s === undefined ? null : formatScore(s);
      }
      case 'ZRANGE':
      case 'ZREVRANGE': {
        need(3);
        const z = read(db, key, 'zset', true);
        const rest = a.slice(3).map((x) => x.toUpperCase());
        if (name === 'ZRANGE' && rest.includes('BYSCORE')) {
          const rev = rest.includes('REV');
          const min = scoreBound(rev ? a[2] : a[1]);
          const max = scoreBound(rev ? a[1] : a[2]);
          const filtered = a.slice(3).filter((x) => !['BYSCORE', 'REV'].includes(x.toUpperCase()));
          const { offset, count, scores } = limitOf(filtered, 0);
          let pairs = byScore(sortedRange(z?.v ?? new Map()), min, max);
          if (rev) pairs = pairs.reverse();
          return withScores(applyLimit(pairs, offset, count), scores);
        }
        const rev = name === 'ZREVRANGE' || rest.includes('REV');
        const scores = rest.includes('WITHSCORES');
        if (rest.some((x) => x !== 'WITHSCORES' && x !== 'REV')) throw new CommandError(ERR_SYNTAX.err);
        let pairs = sortedRange(z?.v ?? new Map());
        if (rev) pairs = pairs.reverse();
        const [start, stop] = rangeOf(pairs.length, a[1], a[2]);
        return start > stop ? [] : withScores(pairs.slice(start, stop + 1), scores);
      }
      case 'ZRANGEBYSCORE':
      case 'ZREVRANGEBYSCORE': {
        need(3);
        const z = read(db, key, 'zset', true);
        const rev = name === 'ZREVRANGEBYSCORE';
        const min = scoreBound(rev ? a[2] : a[1]);
        const max = scoreBound(rev ? a[1] : a[2]);
        const { offset, count, scores } = limitOf(a, 3);
        let pairs = byScore(sortedRange(z?.v ?? new Map()), min, max);
        if (rev) pairs = pairs.reverse();
        return withScores(applyLimit(pairs, offset, count), scores);
      }
      case 'ZCOUNT': {
        need(3);
        const z = read(db, key, 'zset');
        return byScore(sortedRange(z?.v ?? new Map()), scoreBound(a[1]), scoreBound(a[2])).length;
      }
      case 'ZREMRANGEBYSCORE': {
        need(3);
        const z = read(db, key, 'zset');
        if (!z) return 0;
        const gone = byScore(sortedRange(z.v), scoreBound(a[1]), scoreBound(a[2]));
        for (const [m] of gone) z.v.delete(m);
        dropIfEmpty(db, key);
        return gone.length;
      }
      default:
        return {
          err: `ERR unknown command '${args[0] ?? ''}', with args beginning with: ${a
            .slice(0, 3)
            .map((x) => `'${x}'`)
            .join(' ')}`,
        };
    }
  };

  const safeRun = (session: Session, args: string[]): Reply => {
    try {
      return run(session, args);
    } catch (err) {
      if (err instanceof CommandError) return { err: err.message };
      throw err;
    }
  };

  const server: Server = createServer((socket) => {
    const session: Session = { db: 0, name: '', id: nextClientId++, socket };
    sessions.add(session);
    totalConnections += 1;
    let buffer: Buffer = Buffer.alloc(0);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      const parsed = parseCommands(buffer);
      buffer = parsed.rest;
      let out = '';
      for (const cmd of parsed.commands) {
        totalCommands += 1;
        commands.push([(cmd[0] ?? '').toUpperCase(), ...cmd.slice(1)]);
        if (commands.length > MAX_LOGGED) commands.splice(0, commands.length - MAX_LOGGED);
        out += encode(safeRun(session, cmd));
        if ((cmd[0] ?? '').toUpperCase() === 'QUIT') {
          socket.end(out);
          return;
        }
      }
      if (parsed.error) {
        socket.end(`${out}-ERR ${parsed.error}\r\n`);
        return;
      }
      if (out) socket.write(out);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sessions.delete(session));
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });

  const local: Session = { db: 0, name: 'in-process', id: 0 };
  return {
    url: `redis://${host}:${port}/0`,
    port,
    exec(args, dbIndex = 0) {
      local.db = dbIndex;
      return safeRun(
        local,
        args.map((x) => String(x)),
      );
    },
    addStats(s) {
      stats.hits += s.hits ?? 0;
      stats.misses += s.misses ?? 0;
      stats.evicted += s.evicted ?? 0;
    },
    commands,
    connections: () => sessions.size,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.socket?.destroy();
      await closed;
    },
  };
}
