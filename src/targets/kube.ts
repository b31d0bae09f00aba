// The platform's Kubernetes cluster through @kubernetes/client-node: the usual kubeconfig or
// in-cluster service account, never the library's fallback to localhost:8080.
import { existsSync, readFileSync } from 'node:fs';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { deadline } from '../async.js';
import { NotConfigured, TargetError } from '../errors.js';
import type { Redactor } from '../redact.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeApis {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  namespace: string;
}

export interface Kube {
  readonly configured: boolean;
  readonly namespace: string;
  run<T>(fn: (apis: KubeApis) => Promise<T>, timeoutMs?: number): Promise<T>;
  /** Scrubs every pod-log line as it is read (readAppLogs). */
  readonly redactor: Redactor;
}

const HINT = 'set KUBECONFIG or run in the cluster with a service account';

export interface KubeOptions {
  kubeconfig?: string;
  namespace?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  redactor: Redactor;
}

/** Builds the KubeConfig the way kubectl finds one, or undefined when there is none. */
export function loadKubeConfig(opts: KubeOptions): { kc: KubeConfig; namespace: string } | undefined {
  const env = opts.env ?? process.env;
  const kc = new KubeConfig();
  if (opts.kubeconfig) {
    const first = opts.kubeconfig.split(':').find((p) => p && existsSync(p));
    if (!first) return undefined;
    kc.loadFromFile(first);
    const ctx = kc.getContextObject(kc.getCurrentContext());
    return { kc, namespace: opts.namespace ?? ctx?.namespace ?? 'default' };
  }
  if (env.KUBERNETES_SERVICE_HOST && existsSync(`${SA_DIR}/token`)) {
    kc.loadFromCluster();
    const nsFile = `${SA_DIR}/namespace`;
    const inCluster = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
    return { kc, namespace: opts.namespace ?? inCluster ?? 'default' };
  }
  return undefined;
}

export function createKube(opts: KubeOptions): Kube {
  const loaded = loadKubeConfig(opts);
  const defaultTimeout = opts.timeoutMs ?? 3_000;
  if (!loaded) {
    return {
      configured: false,
      namespace: opts.namespace ?? 'default',
      redactor: opts.redactor,
      run: async () => {
        throw new NotConfigured('kubernetes', HINT);
      },
    };
  }
  const apis: KubeApis = {
    kc: loaded.kc,
    core: loaded.kc.makeApiClient(CoreV1Api),
    apps: loaded.kc.makeApiClient(AppsV1Api),
    namespace: loaded.namespace,
  };
  return {
    configured: true,
    namespace: loaded.namespace,
    redactor: opts.redactor,
    run: (fn, timeoutMs = defaultTimeout) =>
      deadline(
        timeoutMs,
        () => fn(apis),
        () => {
          throw TargetError.timedOut('kubernetes', timeoutMs);
        },
      ).catch((err: unknown) => {
        throw TargetError.from('kubernetes', err);
      }),
  };
}
