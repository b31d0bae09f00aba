// Runbook: Useful Commands › Pod Management, "View logs" (kubectl logs): the recent lines of
// an app's pods, optionally only those containing a text; the latest shown, all attached.
import { z } from 'zod';
import { code, plainText, type RichText } from '../domain/text.js';
import { formatDuration, parseDuration } from '../duration.js';
import { UserError } from '../errors.js';
import { K8S_NAME, PLATFORM_APPS, readAppLogs } from '../targets/kube-reads.js';
import { assertPlatformApp } from './app-scope.js';
import { plural, tailDetails } from './lines.js';
import type { Check, Finding, Procedure } from './types.js';

export const DEFAULT_SINCE = '10m';
export const MAX_SINCE_MS = 24 * 60 * 60_000;
const SHOWN = 10;
const MAX_PODS = 10;

const USAGE = code('/dmp logs <app> [--since 10m] [--grep text]');
const WHICH_APP: RichText = ['Which app? ', USAGE, ', e.g. ', code('/dmp logs api'), '.'];

const logArgs = z.object({
  app: z
    .string({ error: plainText(WHICH_APP) })
    .max(63)
    .regex(K8S_NAME, { error: 'not an app label' }),
  since: z
    .string()
    .default(DEFAULT_SINCE)
    .refine((v) => {
      const ms = parseDuration(v);
      return ms !== undefined && ms >= 1_000 && ms <= MAX_SINCE_MS;
    }, 'not a duration'),
  grep: z.string().min(1).max(200).optional(),
});

export interface LogArgs {
  app: string;
  sinceMs: number;
  since: string;
  grep?: string;
}

export function parseLogArgs(args: string[], apps: readonly string[]): LogArgs {
  const raw: Record<string, string | undefined> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const eq = /^--(since|grep)=(.*)$/.exec(a);
    if (eq) {
      raw[eq[1] as string] = eq[2];
    } else if (a === '--since' || a === '--grep') {
      const value = args[i + 1];
      if (value === undefined) throw new UserError([`${a} needs a value: `, USAGE, '.']);
      raw[a.slice(2)] = value;
      i++;
    } else if (a.startsWith('--')) {
      throw new UserError([`I don't know the option ${a.slice(0, 30)}: `, USAGE, '.']);
    } else if (raw.app === undefined) {
      raw.app = a.replace(/^app=/, '');
    } else {
      throw new UserError([
        'One app at a time: ',
        USAGE,
        '. To search for words with spaces, quote them: --grep "auth error".',
      ]);
    }
  }
  const parsed = logArgs.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? '');
    if (field === 'app' && raw.app === undefined) throw new UserError(WHICH_APP);
    if (field === 'app')
      throw new UserError(
        `"${(raw.app ?? '').slice(0, 40)}" is not an app label: use lowercase letters, digits and dashes, e.g. ${PLATFORM_APPS.join(' or ')}.`,
      );
    if (field === 'since')
      throw new UserError(`"${(raw.since ?? '').slice(0, 20)}" is not a duration from 1s to 24h, like 30s, 10m or 2h.`);
    throw new UserError(['--grep takes a text of 1 to 200 characters: ', USAGE, '.']);
  }
  const { app, since, grep } = parsed.data;
  assertPlatformApp(app, apps, [USAGE, ', e.g. ', code(`/dmp logs ${apps[0] ?? 'api'}`), '.']);
  return { app, since, sinceMs: parseDuration(since) as number, grep };
}

const recentLogs: Check = {
  id: 'logs',
  title: 'Logs',
  async run({ targets, args }): Promise<Finding[]> {
    const { app, since, sinceMs, grep } = parseLogArgs(args, targets.config.DMP_DEPLOYMENTS);
    const { pods, logs } = await readAppLogs(targets.kube, app, { sinceSeconds: sinceMs / 1000, maxPods: MAX_PODS });
    if (pods.length === 0) return [{ check: this.title, status: 'warn', summary: `no pods with app=${app}` }];
    const needle = grep?.toLowerCase();
    const findings: Finding[] = logs.map((l) => {
      const check = `Logs of ${l.pod}`;
      if (l.error) return { check, status: 'critical', summary: l.error };
      const lines = needle ? l.lines.filter((line) => line.toLowerCase().includes(needle)) : l.lines;
      const what = needle
        ? `${plural(lines.length, 'line')} containing "${grep}" (of ${l.lines.length})`
        : plural(lines.length, 'line');
      return {
        check,
        status: 'ok',
        summary: `${what} in the last ${formatDuration(sinceMs)}${lines.length > SHOWN ? `, the latest ${SHOWN} shown` : ''}`,
        details: lines.length ? tailDetails(lines, SHOWN) : undefined,
        attachment:
          lines.length > SHOWN
            ? { title: `${l.pod} logs, last ${since}${grep ? `, containing "${grep}"` : ''}`, text: lines.join('\n') }
            : undefined,
      };
    });
    if (pods.length > MAX_PODS)
      findings.push({
        check: this.title,
        status: 'ok',
        summary: `read the ${MAX_PODS} oldest of ${plural(pods.length, 'pod')}; ask for one pod's logs with kubectl for the rest`,
      });
    return findings;
  },
};

export const logs: Procedure = {
  id: 'logs',
  words: ['logs'],
  usage: '<app> [--since 10m] [--grep text]',
  title: 'Logs',
  section: 'Useful Commands › Pod Management (view logs)',
  group: 'Diagnosis',
  summary: 'recent log lines of an app’s pods, optionally only those containing a text; the full text attached',
  dashboard: '/grafana/d/health',
  private: true,
  validateArgs: (args, apps) => void parseLogArgs(args, apps),
  checks: [recentLogs],
  remedies: [],
};
