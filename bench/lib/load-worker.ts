// The load generator's thread: sends pre-built requests on a fixed schedule (open loop: the
// next request goes out on time whether or not earlier ones were answered) and measures each
// from its scheduled time, so a slow server cannot slow the client down and hide it.
import { Agent, request } from 'node:http';
import { parentPort } from 'node:worker_threads';
import type { LoadJob, LoadResult, Sample } from './load.js';

function send(
  job: LoadJob,
  target: URL,
  agent: Agent,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        timeout: job.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Closed loop: `concurrency` senders, each sending its next request when the last is answered. */
async function runClosed(job: LoadJob, concurrency: number): Promise<LoadResult> {
  const target = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const samples: Sample[] = [];
  const start = performance.now();
  let next = 0;
  const sender = async (): Promise<void> => {
    while (next < job.requests.length) {
      const i = next++;
      const r = job.requests[i] as LoadJob['requests'][number];
      const sent = performance.now();
      try {
        const res = await send(job, target, agent, r.body, r.headers);
        samples.push({
          i,
          ms: performance.now() - sent,
          status: res.status,
          text: job.keepText ? res.text : undefined,
        });
      } catch (err) {
        samples.push({
          i,
          ms: performance.now() - sent,
          status: 0,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  agent.destroy();
  return { samples, maxLagMs: 0, wallMs: performance.now() - start };
}

async function run(job: LoadJob): Promise<LoadResult> {
  if (job.concurrency) return runClosed(job, job.concurrency);
  const target = new URL(job.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const interval = 1000 / (job.rate ?? 1);
  const samples: Sample[] = [];
  const pending: Array<Promise<void>> = [];
  let maxLagMs = 0;
  const start = performance.now() + 20;
  for (let i = 0; i < job.requests.length; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.now();
    maxLagMs = Math.max(maxLagMs, sent - due);
    // Late: counted from when it was due (the open loop's point). Early by a timer tick: from when it went.
    const from = Math.min(due, sent);
    const r = job.requests[i] as LoadJob['requests'][number];
    pending.push(
      send(job, target, agent, r.body, r.headers).then(
        (res) => {
          samples.push({
            i,
            ms: performance.now() - from,
            status: res.status,
            text: job.keepText ? res.text : undefined,
          });
        },
        (err: unknown) => {
          samples.push({
            i,
            ms: performance.now() - from,
            status: 0,
            error: err instanceof Error ? err.message : String(err),
          });
        },
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return { samples, maxLagMs, wallMs: performance.now() - start };
}

// One job at a time, each answered with its result.
parentPort?.on('message', (job: LoadJob) => {
  run(job).then(
    (result) => parentPort?.postMessage(result),
    (err: unknown) => parentPort?.postMessage({ samples: [], maxLagMs: 0, wallMs: 0, error: String(err) }),
  );
});
