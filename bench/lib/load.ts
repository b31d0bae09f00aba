// Runs open-loop load from a worker thread, so the client keeps its schedule on its own core
// while the server under test (in this process) is busy. One worker serves a whole run.
import { Worker } from 'node:worker_threads';

export interface LoadRequest {
  body: string;
  headers: Record<string, string>;
}

export interface LoadJob {
  url: string;
  /** Requests a second; request i is due at i / rate seconds. */
  rate?: number;
  /** Instead of a rate: keep this many requests in flight, each sent when one is answered (as fast as the server accepts). */
  concurrency?: number;
  requests: LoadRequest[];
  timeoutMs: number;
  /** Keep each answer's body (for checks that read the reply). */
  keepText?: boolean;
}

export interface Sample {
  i: number;
  /** From the request's scheduled time (or its sending, if a timer tick sent it early) to the end of its answer. */
  ms: number;
  status: number;
  text?: string;
  error?: string;
}

export interface LoadResult {
  samples: Sample[];
  /** The worst delay between a request's scheduled time and its sending: the client's own health. */
  maxLagMs: number;
  wallMs: number;
  error?: string;
}

const tsxApi = import.meta.resolve('tsx/esm/api');
const workerUrl = new URL('./load-worker.ts', import.meta.url).href;

export interface LoadClient {
  run(job: LoadJob): Promise<LoadResult>;
  close(): Promise<void>;
}

export function startLoadClient(): LoadClient {
  // The worker loads TypeScript through tsx's API, as this process does.
  const boot = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(workerUrl)}); })`;
  const worker = new Worker(boot, { eval: true });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    run(job) {
      const next = queue.then(
        () =>
          new Promise<LoadResult>((resolve, reject) => {
            const onError = (err: Error): void => reject(err);
            worker.once('error', onError);
            worker.once('message', (result: LoadResult) => {
              worker.off('error', onError);
              if (result.error) reject(new Error(result.error));
              else resolve(result);
            });
            worker.postMessage(job);
          }),
      );
      queue = next.catch(() => {});
      return next;
    },
    async close() {
      await worker.terminate();
    },
  };
}
