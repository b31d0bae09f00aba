// The remediation commands: each starts the same preview/confirm flow as the diagnosis
// buttons (operators only, preview, Confirm), or opens the mark-scan-failed modal.
import { type Message, section } from '../blocks/message.js';
import { nothingToDoMessage, previewMessage, scanFailModalFor } from '../blocks/remediation.js';
import type { Deps } from '../deps.js';
import { code } from '../domain/text.js';
import { UserError } from '../errors.js';
import { usageOf } from './help.js';
import type { Command, CommandRequest } from './types.js';

async function startFlow(
  deps: Deps,
  req: CommandRequest,
  remedy: string,
  params: Record<string, unknown>,
): Promise<Message> {
  const service = deps.remediations;
  const res = await service.start({ remedy, params, userId: req.userId, channelId: req.channelId });
  switch (res.kind) {
    case 'refused':
    case 'invalid':
      throw new UserError(res.message);
    case 'nothing':
      return nothingToDoMessage(res.label, res.preview);
    case 'duplicate':
      throw new UserError('A confirmation for this is already waiting; nothing new was started.');
    case 'preview':
      return previewMessage({
        action: res.action,
        label: res.label,
        highRisk: res.highRisk,
        twoPerson: deps.config.TWO_PERSON_RULE,
        ttlMs: deps.config.CONFIRM_TTL,
      });
  }
}

function usage(c: Command, why: string): UserError {
  return new UserError([`${why} Usage: `, code(usageOf(c))]);
}

const scale: Command = {
  words: ['scale'],
  usage: '<deployment> <replicas>',
  summary:
    'scale a deployment (scan-workers, api) to N replicas, within SCALE_MIN–SCALE_MAX, after a preview and Confirm',
  section: 'Common Issues › Scans Stuck in Pending › Resolution 1',
  group: 'Remediation',
  async run(deps, req) {
    const [deployment, replicas] = req.args;
    if (!deployment || replicas === undefined || req.args.length > 2)
      throw usage(this, 'Say which deployment and how many replicas.');
    return startFlow(deps, req, 'scale-deployment', { deployment, replicas: replicas.replace(/^--replicas=/, '') });
  },
};

const restart: Command = {
  words: ['restart'],
  usage: '<deployment>',
  summary: 'rolling restart of a deployment (kubectl rollout restart), after a preview and Confirm',
  section: 'Common Issues › Scans Stuck in Pending › Resolution 2',
  group: 'Remediation',
  async run(deps, req) {
    const [deployment] = req.args;
    if (!deployment || req.args.length > 1) throw usage(this, 'Say which deployment.');
    return startFlow(deps, req, 'restart-deployment', { deployment });
  },
};

const rollback: Command = {
  words: ['rollback'],
  usage: '<deployment> [revision]',
  summary:
    'roll a deployment back to the previous (or the given) revision, as kubectl rollout undo does, then follow the rollout',
  section: 'Incident Response › Rollback Procedure',
  group: 'Remediation',
  async run(deps, req) {
    const [deployment, revision] = req.args;
    if (!deployment || req.args.length > 2)
      throw usage(this, 'Say which deployment (and, if not the previous one, which revision).');
    const to = revision?.replace(/^--to-revision=/, '');
    return startFlow(deps, req, 'rollback-deployment', { deployment, ...(to ? { revision: to } : {}) });
  },
};

const scanFail: Command = {
  words: ['scan', 'fail'],
  usage: '[scan-id]',
  summary: 'mark a stuck scan failed ("Timeout - manual intervention"): a form shows the scan first',
  section: 'Common Issues › Scans Stuck in Pending › Resolution 3',
  group: 'Remediation',
  async run(deps, req) {
    if (req.args.length > 1) throw usage(this, 'Give one scan ID at most.');
    const refused = await deps.remediations.refusal(
      req.userId,
      req.channelId,
      'mark-scan-failed',
      'open the mark-scan-failed form',
    );
    if (refused) throw new UserError(refused);
    const where = { userId: req.userId, channelId: req.channelId };
    const modal = scanFailModalFor(where, await deps.remediations.showScan(where, req.args[0]?.toLowerCase()));
    return {
      text: 'Opening the form to mark a scan failed…',
      blocks: [section('Opening the form to mark a scan failed…')],
      modal,
    };
  },
};

const dbTerminate: Command = {
  words: ['db', 'terminate'],
  usage: '[minutes] [pid…]',
  summary:
    'terminate queries running longer than N minutes (default 5): a preview lists them; terminate all or the ones picked',
  section: 'Common Issues › High Database CPU › Resolution 1',
  group: 'Remediation',
  async run(deps, req) {
    const [minutes, ...pids] = req.args;
    return startFlow(deps, req, 'terminate-queries', {
      ...(minutes !== undefined ? { minutes } : {}),
      ...(pids.length ? { selected: pids } : {}),
    });
  },
};

const dbIndex: Command = {
  words: ['db', 'index'],
  summary: 'create the missing idx_nodes_scan CONCURRENTLY, with progress in the thread',
  section: 'Common Issues › Graph Queries Timeout › Resolution 1',
  group: 'Remediation',
  async run(deps, req) {
    if (req.args.length) throw usage(this, 'This command takes no arguments.');
    return startFlow(deps, req, 'create-index', {});
  },
};

const dbReindex: Command = {
  words: ['db', 'reindex'],
  summary: 'REINDEX INDEX CONCURRENTLY idx_nodes_scan, with progress in the thread',
  section: 'Maintenance Procedures › Database Maintenance',
  group: 'Remediation',
  async run(deps, req) {
    if (req.args.length) throw usage(this, 'This command takes no arguments.');
    return startFlow(deps, req, 'reindex', {});
  },
};

const dbVacuum: Command = {
  words: ['db', 'vacuum'],
  usage: '[nodes|edges|scans]',
  summary: 'VACUUM ANALYZE nodes, edges and scans (or one of them), one at a time, with progress in the thread',
  section: 'Maintenance Procedures › Database Maintenance',
  group: 'Remediation',
  async run(deps, req) {
    if (req.args.length > 1) throw usage(this, 'Name one table at most.');
    return startFlow(deps, req, 'vacuum-analyze', req.args[0] ? { table: req.args[0].toLowerCase() } : {});
  },
};

const cacheClear: Command = {
  words: ['cache', 'clear'],
  usage: '<pattern>',
  summary: 'clear one cache namespace such as graph:* (SCAN and UNLINK, never KEYS); the count removed is reported',
  section: 'Maintenance Procedures › Cache Maintenance',
  group: 'Remediation',
  async run(deps, req) {
    const [pattern] = req.args;
    if (!pattern || req.args.length > 1) throw usage(this, 'Give one key pattern, such as graph:*.');
    return startFlow(deps, req, 'cache-clear', { pattern });
  },
};

const cacheFlush: Command = {
  words: ['cache', 'flush'],
  summary: 'clear all caches (FLUSHDB): high risk, asks for a reason and a second operator',
  section: 'Maintenance Procedures › Cache Maintenance',
  group: 'Remediation',
  async run(deps, req) {
    if (req.args.length) throw usage(this, 'This command takes no arguments.');
    return startFlow(deps, req, 'cache-flush', {});
  },
};

const logrotate: Command = {
  words: ['logrotate'],
  usage: '<pod>',
  summary: 'disk use of /var/log in a pod, then a forced logrotate -f /etc/logrotate.conf (Kubernetes exec API)',
  section: 'Maintenance Procedures › Log Rotation',
  group: 'Remediation',
  async run(deps, req) {
    const [pod] = req.args;
    if (!pod || req.args.length > 1) throw usage(this, 'Say which pod (see `/dmp pods`).');
    return startFlow(deps, req, 'rotate-logs', { pod });
  },
};

export const remediationCommands: Command[] = [
  scale,
  restart,
  rollback,
  scanFail,
  dbTerminate,
  dbIndex,
  dbReindex,
  dbVacuum,
  cacheClear,
  cacheFlush,
  logrotate,
];
