// The platform's Kubernetes cluster through @kubernetes/client-node: the usual kubeconfig or
// in-cluster service account, never the library's fallback to localhost:8080. The client (~800
// modules, ~1 s and ~70 MB to load) is imported only when a cluster is configured.
import { existsSync, readFileSync } from 'node:fs';
import type { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { deadline } from '../async.js';
import { NotConfigured, TargetError } from '../errors.js';
import type { Redactor } from '../redact.js';

/** The client library itself, for the few values callers need from it (Exec, PatchStrategy, …). */
export type KubeLib = typeof import('@kubernetes/client-node');

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeApis {
  lib: KubeLib;
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

/** Where kubectl would find a cluster, without loading the client: a kubeconfig file, or in-cluster. */
function configSource(opts: KubeOptions): 'file' | 'cluster' | undefined {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig) return opts.kubeconfig.split(':').some((p) => p && existsSync(p)) ? 'file' : undefined;
  if (env.KUBERNETES_SERVICE_HOST && existsSync(`${SA_DIR}/token`)) return 'cluster';
  return undefined;
}

/** Builds the KubeConfig the way kubectl finds one, or undefined when there is none. */
export async function loadKubeConfig(
  opts: KubeOptions,
): Promise<{ lib: KubeLib; kc: KubeConfig; namespace: string } | undefined> {
  const source = configSource(opts);
  if (!source) return undefined;
  const lib = await import('@kubernetes/client-node');
  const kc = new lib.KubeConfig();
  if (source === 'file') {
    const first = (opts.kubeconfig ?? '').split(':').find((p) => p && existsSync(p)) as string;
    kc.loadFromFile(first);
    const ctx = kc.getContextObject(kc.getCurrentContext());
    return { lib, kc, namespace: opts.namespace ?? ctx?.namespace ?? 'default' };
  }
  kc.loadFromCluster();
  const nsFile = `${SA_DIR}/namespace`;
  const inCluster = existsSync(nsFile) ? readFileSync(nsFile, 'utf8').trim() : undefined;
  return { lib, kc, namespace: opts.namespace ?? inCluster ?? 'default' };
}

export async function createKube(opts: KubeOptions): Promise<Kube> {
  const loaded = await loadKubeConfig(opts);
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
    lib: loaded.lib,
    kc: loaded.kc,
    core: loaded.kc.makeApiClient(loaded.lib.CoreV1Api),
    apps: loaded.kc.makeApiClient(loaded.lib.AppsV1Api),
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
