// `npm run chaos`: three bot replicas (dist/main.js) on one PostgreSQL store, a stream of pages
// with acknowledgements (Slack clicks and PagerDuty-side), resolutions with notes, while replicas
// are SIGKILLed and restarted at random, the store's backends are terminated and Slack answers
// 429 and 500 for a while. Then it checks what Slack, PagerDuty and the store show, prints the
// take-over times it saw, and exits non-zero when a check failed. Loopback only, bounded in time.
// Not part of `npm test`: it takes a few minutes and all the CPU it can get.
//   CHAOS_SECONDS (default 60): how long the storm of faults lasts; CHAOS_PAGES (default 24).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedPlatform, startKubeFake } from '@dmp-bot/sim/k8s-fake';
import { type PagerDutyFake, type PdIncident, startPagerDutyFake } from '@dmp-bot/sim/pagerduty-fake';
import { type SlackFake, type SlackMessage, startSlackFake } from '@dmp-bot/sim/slack-fake';
import {
  blockActionPayload,
  interactionBody,
  SLACK_DEFAULTS,
  signSlackRequest,
  slashCommandBody,
} from '@dmp-bot/sim/slack-signing';
import pg from 'pg';
import { type BotProcess, startBotProcess } from '../test/helpers/bot-process.js';

const SECONDS = Number(process.env.CHAOS_SECONDS ?? 60);
const PAGES = Number(process.env.CHAOS_PAGES ?? 24);
const ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SECRET = 'chaos-signing-secret';
const HOOK = 'chaos-webhook-secret';
const PD_TOKEN = 'pd-chaos-token';
const CHANNEL = 'C0CHAOS';
const CLAIMER_LOCK_SPACE = 1_684_893_794; // src/incidents/claim-session.ts

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const log = (...a: unknown[]) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}]`, ...a);

interface Replica {
  name: string;
  proc?: BotProcess;
  /** Set before we kill it: an exit we did not ask for is a crash. */
  killing: boolean;
}

async function main(): Promise<number> {
  const dbName = `chaos_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;
  const db = new pg.Client({ connectionString: dbUrl.toString(), application_name: 'chaos-checker' });
  await db.connect();
  db.on('error', () => {});

  const slack: SlackFake = await startSlackFake({
    users: { U0CHAOS01: { name: 'alice', email: 'alice@example.com' } },
  });
  const pd: PagerDutyFake = await startPagerDutyFake({ token: PD_TOKEN });
  const kube = await startKubeFake({ namespace: 'dmp' });
  seedPlatform(kube);
  const kubeDir = mkdtempSync(join(tmpdir(), 'dmp-chaos-kube-'));
  const kubeconfig = kube.writeKubeconfig(kubeDir);
  const replicas: Replica[] = ['r1', 'r2', 'r3'].map((name) => ({ name, killing: false }));
  const live = () => replicas.filter((r) => r.proc && !r.killing);
  let crashes = 0;
  const counts = {
    remediationsStarted: 0,
    kills: 0,
    terminated: 0,
    slack429: 0,
    slack500: 0,
    clicks: 0,
    pdActs: 0,
    webhookRetries: 0,
  };

  // PagerDuty's webhooks go to whichever replica is up, and are resent until one answers 2xx,
  // as PagerDuty resends them.
  const balancer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      for (let attempt = 0; attempt < 120; attempt++) {
        const target = pick(live());
        if (target?.proc) {
          const status = await forward(target.proc.url, req.url ?? '/', req.headers, body).catch(() => 0);
          if (status >= 200 && status < 300) {
            res.writeHead(status).end();
            return;
          }
        }
        counts.webhookRetries += 1;
        await sleep(500);
      }
      res.writeHead(503).end();
    });
  });
  await new Promise<void>((r) => balancer.listen(0, '127.0.0.1', () => r()));
  const balancerPort = (balancer.address() as { port: number }).port;
  pd.webhookTarget = { url: `http://127.0.0.1:${balancerPort}/pagerduty/webhook`, secrets: [HOOK] };

  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: 'xoxb-chaos',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    BOT_DATABASE_URL: dbUrl.toString(),
    PAGERDUTY_API_TOKEN: PD_TOKEN,
    PAGERDUTY_API_URL: pd.url,
    PAGERDUTY_WEBHOOK_SECRETS: HOOK,
    PAGERDUTY_FROM_EMAIL: 'oncall@example.com',
    INCIDENTS_CHANNEL: CHANNEL,
    INCIDENT_POLL_INTERVAL: '200ms',
    CHECK_DEADLINE: '1s',
    RESPONSE_TARGETS: '{"P1":"6s","P2":"6s","P3":"6s","P4":"6s"}',
    STORM_THRESHOLD: '1000',
    SLACK_CHANNEL_RATE: '20',
    SLACK_CHANNEL_BURST: '20',
    LOG_LEVEL: 'warn',
    // Remediations in flight: restarts confirmed by one operator, their rollouts followed.
    KUBECONFIG: kubeconfig,
    DMP_NAMESPACE: 'dmp',
    DMP_OPERATORS: 'U0CHAOS01',
    TWO_PERSON_RULE: 'off',
    ROLLOUT_POLL_INTERVAL: '200ms',
    ROLLOUT_TIMEOUT: '20s',
  };

  const boot = async (r: Replica): Promise<void> => {
    const proc = await startBotProcess(env, 120_000);
    children.add(proc.child);
    r.proc = proc;
    r.killing = false;
    proc.child.once('exit', (code, signal) => {
      if (r.proc !== proc) return;
      if (!r.killing) {
        crashes += 1;
        log(`CRASH: ${r.name} exited (${code ?? signal}) on its own:\n${proc.output.join('').slice(-3000)}`);
      }
      r.proc = undefined;
    });
  };
  await Promise.all(replicas.map(boot));
  log(`three replicas up on ${dbName}`);

  // What a killed replica held: rows claimed under its session's claimer ids, and when it died.
  type Held = { table: string; id: number; claimer: number };
  /** Per row the dead replica held: how long until a survivor claimed it (or it was done), and whether its channel was paused then. */
  const takeoverTimes: Array<{ ms: number; paused: boolean }> = [];
  const watchTakeover = async (h: Held, at: number): Promise<void> => {
    for (;;) {
      const { rows } = await db
        .query<{ done: boolean; claimed_by: number | null; paused: boolean }>(
          `SELECT o.done_at IS NOT NULL AS done, o.claimed_by,
                  COALESCE((SELECT paused_until > $2 FROM rate_buckets WHERE key = 'slack:' || ${h.table === 'incident_outbox' ? 'o.channel' : "''"}), false) AS paused
             FROM ${h.table} o WHERE o.id = $1`,
          [h.id, new Date(at)],
        )
        .catch(() => ({ rows: [] as Array<{ done: boolean; claimed_by: number | null; paused: boolean }> }));
      const row = rows[0];
      if (row && (row.done || (row.claimed_by !== null && row.claimed_by !== h.claimer))) {
        takeoverTimes.push({ ms: Date.now() - at, paused: row.paused });
        return;
      }
      if (Date.now() - at > 240_000) return;
      await sleep(20);
    }
  };
  const claimsOf = async (child: ChildProcess): Promise<Held[]> => {
    const ids = `SELECT l.objid::text::int FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                  WHERE l.locktype = 'advisory' AND l.classid = ${CLAIMER_LOCK_SPACE}::oid AND l.objsubid = 2
                    AND a.application_name = 'dmp-bot-claims:${child.pid}'`;
    const { rows } = await db.query<{ t: string; id: string; claimed_by: number }>(
      `SELECT 'incident_outbox' AS t, id, claimed_by FROM incident_outbox WHERE done_at IS NULL AND claimed_by IN (${ids})
       UNION ALL SELECT 'pd_outbox', id, claimed_by FROM pd_outbox WHERE done_at IS NULL AND claimed_by IN (${ids})`,
    );
    return rows.map((r) => ({ table: r.t, id: Number(r.id), claimer: r.claimed_by }));
  };

  const stopAt = Date.now() + SECONDS * 1000;
  const incidents: PdIncident[] = [];
  const chaos: Array<Promise<void>> = [];
  const watchers: Array<Promise<void>> = [];

  // Kill and restart replicas at random, keeping at least one up.
  chaos.push(
    (async () => {
      while (Date.now() < stopAt) {
        await sleep(between(2_000, 6_000));
        if (live().length < 2) continue;
        // Prefer a replica caught with work in hand (for up to 3 s), so take-overs get measured.
        let victim: Replica | undefined;
        let held: Held[] = [];
        for (const end = Date.now() + 3_000; !victim && Date.now() < end; await sleep(20)) {
          for (const r of live()) {
            const h = r.proc ? await claimsOf(r.proc.child).catch(() => []) : [];
            if (h.length > 0) {
              victim = r;
              held = h;
              break;
            }
          }
        }
        victim ??= pick(live());
        if (!victim?.proc) continue;
        victim.killing = true;
        const at = Date.now();
        await victim.proc.kill();
        counts.kills += 1;
        for (const h of held) watchers.push(watchTakeover(h, at));
        log(`SIGKILL ${victim.name} holding ${held.length} claim(s)`);
        await sleep(between(500, 3_000));
        await boot(victim).catch((err: unknown) => log(`restart of ${victim.name} failed`, err));
      }
    })(),
  );
  // Terminate the store's backends now and then (the bots', not ours).
  chaos.push(
    (async () => {
      while (Date.now() < stopAt) {
        await sleep(between(4_000, 9_000));
        const { rows } = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name <> 'chaos-checker' AND pid <> pg_backend_pid()`,
          [dbName],
        );
        counts.terminated += rows.length;
        log(`terminated ${rows.length} store backend(s)`);
      }
    })(),
  );
  // Slack has a bad spell: a run of 429s, then a run of 500s.
  chaos.push(
    (async () => {
      await sleep(SECONDS * 250);
      slack.rateLimit('chat.postMessage', 2, 6);
      counts.slack429 += 6;
      log('Slack answers 429 to the next 6 posts');
      await sleep(SECONDS * 250);
      slack.setFault('error', { times: 15 });
      counts.slack500 += 15;
      log('Slack answers 500 to the next 15 calls');
    })(),
  );
  // Remediations: `/dmp restart <deployment>` and Confirm, to whichever replicas are up, now and then.
  const signed = async (raw: string): Promise<Response | undefined> => {
    const target = pick(live());
    if (!target?.proc) return undefined;
    return fetch(`${target.proc.url}/slack/events`, {
      method: 'POST',
      headers: signSlackRequest(SECRET, raw),
      body: raw,
    }).catch(() => undefined);
  };
  chaos.push(
    (async () => {
      const deployments = ['scan-workers', 'api', 'graph-builder'];
      while (Date.now() < stopAt - 10_000) {
        await sleep(between(3_000, 7_000));
        const channel = SLACK_DEFAULTS.channelId;
        const responseUrl = slack.responseUrl({ channel, user: 'U0CHAOS01' });
        const raw = slashCommandBody({
          command: '/dmp',
          text: `restart ${pick(deployments)}`,
          user_id: 'U0CHAOS01',
          channel_id: channel,
          response_url: responseUrl,
        });
        const res = await signed(raw);
        const reply = res?.ok
          ? ((await res.json().catch(() => undefined)) as Record<string, unknown> | undefined)
          : undefined;
        if (!reply?.blocks) continue;
        // Slack shows an in_channel answer as a message in the channel: that is the preview.
        const before = slack.messages.length;
        await fetch(responseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(reply),
        });
        const preview = slack.messages.slice(before).find((m) => m.via === 'response_url');
        const confirm = (
          preview?.blocks as
            | Array<{
                type: string;
                block_id?: string;
                elements?: Array<{ type: string; action_id?: string; value?: string; text?: { text: string } }>;
              }>
            | undefined
        )
          ?.flatMap((b) => (b.type === 'actions' ? (b.elements ?? []).map((e) => ({ ...e, blockId: b.block_id })) : []))
          .find((e) => e.text?.text === 'Confirm');
        if (!preview || !confirm) continue;
        const click = interactionBody(
          blockActionPayload({
            user: 'U0CHAOS01',
            channel,
            messageTs: preview.ts,
            actionId: confirm.action_id ?? '',
            value: confirm.value,
            blockId: confirm.blockId,
            responseUrl: slack.responseUrl({ channel, user: 'U0CHAOS01', messageTs: preview.ts }),
          }),
        );
        if ((await signed(click))?.ok) counts.remediationsStarted += 1;
      }
    })(),
  );
  // The stream of pages: each is acknowledged (a Slack click or on PagerDuty's side) or left to
  // its response-target reminder, and most are resolved with a resolution note.
  chaos.push(
    (async () => {
      for (let n = 0; n < PAGES && Date.now() < stopAt; n++) {
        const inc = await pd.triggerIncident({
          title: `Chaos page ${n + 1}: scans stuck`,
          serviceId: 'PDMPWRK',
          urgency: 'high',
        });
        incidents.push(inc);
        void lifecycle(inc, n);
        await sleep((SECONDS * 500) / PAGES);
      }
    })(),
  );
  const rootOf = (id: string): SlackMessage | undefined =>
    slack
      .topLevel(CHANNEL)
      .find((m) => (m.metadata as { event_payload?: { incident_id?: string } })?.event_payload?.incident_id === id);
  async function lifecycle(inc: PdIncident, n: number): Promise<void> {
    await sleep(between(1_000, 9_000));
    if (n % 3 === 0) {
      // Left alone past its response target for a while (its reminder fires).
      await sleep(8_000);
    }
    if (n % 2 === 0) {
      for (let tries = 0; tries < 60; tries++) {
        const root = rootOf(inc.id);
        const target = pick(live());
        if (root && target?.proc) {
          const raw = interactionBody(
            blockActionPayload({
              user: 'U0CHAOS01',
              channel: CHANNEL,
              messageTs: root.ts,
              actionId: 'incident:ack',
              value: inc.id,
              responseUrl: slack.responseUrl({ channel: CHANNEL, messageTs: root.ts }),
            }),
          );
          const ok = await fetch(`${target.proc.url}/slack/events`, {
            method: 'POST',
            headers: signSlackRequest(SECRET, raw),
            body: raw,
          })
            .then((r) => r.ok)
            .catch(() => false);
          if (ok) {
            counts.clicks += 1;
            break;
          }
        }
        await sleep(1_000);
      }
    } else {
      await pd.act(inc.id, { status: 'acknowledged' }, 'dana@example.com');
      counts.pdActs += 1;
    }
    await sleep(between(2_000, 6_000));
    // Resolved on PagerDuty's side once the acknowledgement has got there.
    for (let tries = 0; tries < 120 && pd.incidents.get(inc.id)?.status === 'triggered'; tries++) await sleep(500);
    if (n % 4 !== 3) {
      await pd.act(inc.id, { status: 'resolved', resolution: `Chaos fix ${n + 1}` }, 'dana@example.com');
      counts.pdActs += 1;
    }
  }

  await Promise.all(chaos);
  log('faults over; waiting for the replicas to settle');
  slack.setFault('none');
  for (const r of replicas) if (!r.proc) await boot(r);

  const settleBy = Date.now() + 180_000;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM remediation_actions WHERE state = 'running')
            + (SELECT count(*) FROM incident_outbox WHERE done_at IS NULL)
            + (SELECT count(*) FROM pd_outbox WHERE done_at IS NULL)
            + (SELECT count(*) FROM pd_webhook_events WHERE processed_at IS NULL)
            + (SELECT count(*) FROM incident_timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at < now()) AS n`,
    );
    await pd.settled();
    if (Number(rows[0]?.n) === 0 && incidents.every((i) => rootOf(i.id))) break;
    if (Date.now() > settleBy) {
      log('did not settle within 3 minutes');
      break;
    }
    await sleep(500);
  }
  await sleep(1_000);

  // --- checks
  const failures: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) failures.push(what);
  };
  const { rows: outbox } = await db.query<{
    id: string;
    incident_id: string;
    kind: string;
    type: string;
    done: boolean;
    failed: boolean;
  }>(
    `SELECT id, incident_id, kind, payload->>'type' AS type, done_at IS NOT NULL AS done, failed FROM incident_outbox ORDER BY id`,
  );
  let posts = 0;
  for (const inc of incidents) {
    const roots = slack
      .topLevel(CHANNEL)
      .filter(
        (m) => (m.metadata as { event_payload?: { incident_id?: string } })?.event_payload?.incident_id === inc.id,
      );
    check(roots.length === 1, `incident ${inc.id} has ${roots.length} top-level posts`);
    const root = roots[0];
    if (!root) continue;
    const expected = outbox
      .filter((r) => r.incident_id === inc.id && r.kind === 'reply' && r.done && !r.failed)
      .map((r) => Number(r.id));
    const seen = slack
      .thread(CHANNEL, root.ts)
      .filter((m) => m.via === 'api')
      .map((m) => Number((m.metadata as { event_payload?: { outbox_id?: number } })?.event_payload?.outbox_id));
    posts += seen.length + 1;
    check(
      JSON.stringify(seen) === JSON.stringify(expected),
      `incident ${inc.id}: thread posts ${JSON.stringify(seen)}, outbox ${JSON.stringify(expected)}`,
    );
  }
  const failedRows = outbox.filter((r) => r.failed);
  check(failedRows.length === 0, `${failedRows.length} posts given up: ${failedRows.map((r) => r.type).join(', ')}`);
  check(
    outbox.every((r) => r.done),
    'posts left unsent',
  );
  const { rows: timers } = await db.query<{ incident_id: string; kind: string; fired: boolean }>(
    `SELECT incident_id, kind, fired_at IS NOT NULL AS fired FROM incident_timers WHERE kind = 'ack_reminder'`,
  );
  let fired = 0;
  for (const t of timers.filter((x) => x.fired)) {
    fired += 1;
    const reminders = outbox.filter((r) => r.incident_id === t.incident_id && r.type === 'ack_reminder');
    check(reminders.length === 1, `incident ${t.incident_id}: ${reminders.length} reminder posts for one timer`);
  }
  const { rows: pdLeft } = await db.query('SELECT id FROM pd_outbox WHERE done_at IS NULL OR failed');
  check(pdLeft.length === 0, `${pdLeft.length} PagerDuty calls unsent or given up`);
  const acks = new Map<string, number>();
  for (const r of pd.requests)
    if (r.method === 'PUT' && JSON.stringify(r.body).includes('"acknowledged"'))
      acks.set(r.path, (acks.get(r.path) ?? 0) + 1);
  check(
    [...acks.values()].every((n) => n === 1),
    `an acknowledgement sent to PagerDuty twice: ${JSON.stringify([...acks])}`,
  );
  const { rows: running } = await db.query(`SELECT id FROM remediation_actions WHERE state = 'running'`);
  check(running.length === 0, `${running.length} remediations left running`);
  const { rows: remStates } = await db.query<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM remediation_actions GROUP BY state ORDER BY state',
  );
  const remediations = Object.fromEntries(remStates.map((r) => [r.state, r.n]));
  check(crashes === 0, `${crashes} replica crash(es)`);

  await Promise.all(watchers);
  const stats = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return {
      n: sorted.length,
      maxMs: sorted.at(-1) ?? null,
      p95Ms: sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)] ?? null,
    };
  };
  const open = stats(takeoverTimes.filter((t) => !t.paused).map((t) => t.ms));
  const paused = stats(takeoverTimes.filter((t) => t.paused).map((t) => t.ms));
  // Take-over within 5 s, for rows whose channel Slack was not holding back at the time.
  check(open.maxMs === null || open.maxMs < 5_000, `a take-over took ${open.maxMs} ms`);

  console.log('\n--- chaos summary');
  console.log(
    JSON.stringify(
      {
        seconds: SECONDS,
        incidents: incidents.length,
        slackPosts: posts,
        timersFired: fired,
        remediations,
        ...counts,
        crashes,
        takeover: open,
        takeoverWhileChannelPaused: paused,
      },
      null,
      2,
    ),
  );
  console.log(failures.length === 0 ? 'all checks passed' : `FAILED:\n- ${failures.join('\n- ')}`);

  for (const r of replicas) {
    r.killing = true;
    await r.proc?.stop();
  }
  balancer.close();
  await kube.close();
  rmSync(kubeDir, { recursive: true, force: true });
  await slack.close();
  await pd.close();
  await db.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
  await admin.end();
  return failures.length === 0 ? 0 : 1;
}

function forward(base: string, path: string, headers: Record<string, unknown>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...headers, host: url.host, 'content-length': String(body.length) },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Every replica ever started: none outlives the run, however it ends. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

// Bounded: whatever happens, the run ends.
const hardStop = setTimeout(
  () => {
    console.error('chaos: hard time limit reached');
    process.exit(2);
  },
  (SECONDS + 420) * 1000,
);
hardStop.unref();
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
