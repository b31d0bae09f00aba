// Runbook: Useful Commands › Pod Management, "Get pod status" (kubectl get pods -l app=…):
// each pod's phase, readiness, restarts, age and node, for one app or for api and scan-workers.
import { z } from 'zod';
import { code } from '../domain/text.js';
import { formatDuration } from '../duration.js';
import { UserError } from '../errors.js';
import { K8S_NAME, listAppPods, type PodSummary } from '../targets/kube-reads.js';
import { assertPlatformApp } from './app-scope.js';
import { plural } from './lines.js';
import type { Check, Finding, Procedure, Status } from './types.js';

const appName = z.string().max(63).regex(K8S_NAME);

export function parsePodsArgs(args: string[], platform: readonly string[]): { apps: string[] } {
  if (args.length === 0) return { apps: [...platform] };
  if (args.length > 1)
    throw new UserError([code('/dmp pods [app]'), ' takes at most one app, e.g. ', code('/dmp pods api'), '.']);
  const raw = (args[0] ?? '').replace(/^app=/, '');
  const parsed = appName.safeParse(raw);
  if (!parsed.success)
    throw new UserError(
      `"${raw.slice(0, 40)}" is not an app label: use lowercase letters, digits and dashes, e.g. ${platform.join(' or ')}.`,
    );
  assertPlatformApp(parsed.data, platform, [code('/dmp pods [app]'), '.']);
  return { apps: [parsed.data] };
}

const CRASHING = /CrashLoopBackOff|ImagePullBackOff|ErrImagePull|OOMKilled|CreateContainerConfigError|Error/;

export function podLine(p: PodSummary, now: Date): string {
  const age = p.created ? formatDuration(now.getTime() - p.created.getTime()) : '?';
  return `${p.name}  ${p.phase}  ready ${p.readyContainers}  restarts ${p.restarts}  age ${age}  node ${p.node ?? '(none)'}${p.reason ? `  ${p.reason}` : ''}`;
}

export function podsFinding(app: string, pods: PodSummary[], now: Date): Finding {
  const check = `Pods of ${app}`;
  if (pods.length === 0)
    return { check, status: 'warn', summary: `no pods with app=${app}`, facts: { pods: 0, ready: 0 } };
  const ready = pods.filter((p) => p.ready).length;
  const restarts = pods.reduce((n, p) => n + p.restarts, 0);
  const crashing = pods.filter((p) => p.reason && CRASHING.test(p.reason) && !p.reason.startsWith('last:'));
  const status: Status = ready === 0 || crashing.length ? 'critical' : ready < pods.length ? 'warn' : 'ok';
  return {
    check,
    status,
    summary: `${plural(pods.length, 'pod')}, ${ready} ready, ${plural(restarts, 'restart')}${crashing.length ? `; ${crashing.map((p) => `${p.name} ${p.reason}`).join(', ')}` : ''}`,
    details: pods.map((p) => podLine(p, now)),
    facts: { pods: pods.length, ready, restarts },
  };
}

const podStatus: Check = {
  id: 'pods',
  title: 'Pods',
  async run({ targets, args, now }): Promise<Finding[]> {
    const { apps } = parsePodsArgs(args, targets.config.DMP_DEPLOYMENTS);
    const lists = await Promise.all(apps.map((app) => listAppPods(targets.kube, app)));
    return apps.map((app, i) => podsFinding(app, lists[i] ?? [], now));
  },
};

export const pods: Procedure = {
  id: 'pods',
  words: ['pods'],
  usage: '[app]',
  title: 'Pods',
  section: 'Useful Commands › Pod Management (pod status)',
  group: 'Diagnosis',
  summary: 'phase, readiness, restarts, age and node of each pod (default: api and scan-workers)',
  dashboard: '/grafana/d/health',
  validateArgs: (args, apps) => void parsePodsArgs(args, apps),
  checks: [podStatus],
  remedies: [],
};
