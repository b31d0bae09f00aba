// The safety layer every remediation goes through, once: only operators; a preview stating
// exactly what will change; a confirmation that expires (CONFIRM_TTL); for high-risk actions
// (HIGH_RISK_ACTIONS) a reason and a second operator's approval (TWO_PERSON_RULE); each step
// moved by one atomic UPDATE so a double click, a redelivery or two operators at once run an
// action once; and every preview, approval, refusal and outcome in the audit log.
// No Slack types: handlers and commands render the results with blocks/remediation.ts.
import { z } from 'zod';
import type { Config } from '../config.js';
import { plainText, type Text } from '../domain/text.js';
import { TargetError, UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Redactor } from '../redact.js';
import { type AuditOutcome, auditLine, recordAudit } from '../store/audit.js';
import {
  type ActionRow,
  createAction,
  findOpenByKey,
  getAction,
  type StoredPreview,
  setMessages,
  type TransitionGuard,
  type TransitionSet,
  transition,
} from '../store/remediations.js';
import type { Sql } from '../store/sql.js';
import type { Targets } from '../targets/index.js';
import type { ActionState } from './action.js';
import { findRemediation } from './index.js';
import { describeScan, isMarkable, lookupScan, markSummary, SCAN_ID, type ScanShown } from './mark-scan-failed.js';
import { createOperators, type Operators } from './operators.js';
import type { ActionContext, AnyRemediation, Outcome, Params, Preview, ProgressNote } from './types.js';

export type { ActionRow };

export const REFUSAL =
  'Sorry, you are not allowed to do that: remediations are for operators only (DMP_OPERATORS), and you do not have permission. Nothing was changed.';
export const OWN_APPROVAL =
  'You are not allowed to approve your own request: the two-person rule needs a second operator to press Approve. Nothing was changed.';

// One plain line, as the audit log keeps it: a NUL would make PostgreSQL refuse the row.
export const reasonText = z
  .string()
  .transform((v) => auditLine(v, 4000))
  .pipe(
    z
      .string()
      .trim()
      .min(3, 'say in a few words why (at least 3 characters)')
      .max(500, 'keep the reason under 500 characters'),
  );

export interface Where {
  userId: string;
  channelId: string;
  threadTs?: string;
  messageTs?: string;
}

export type StartResult =
  | { kind: 'refused'; message: Text }
  | { kind: 'invalid'; message: Text }
  | { kind: 'duplicate'; action: ActionRow }
  | { kind: 'nothing'; remedy: AnyRemediation; label: string; preview: Preview }
  | { kind: 'preview'; action: ActionRow; remedy: AnyRemediation; label: string; highRisk: boolean };

export type StepResult =
  | { kind: 'refused'; message: Text }
  | { kind: 'unknown' }
  | { kind: 'already'; action: ActionRow }
  | { kind: 'expired'; action: ActionRow }
  | { kind: 'own'; action: ActionRow; message: Text }
  | { kind: 'invalid'; action: ActionRow; message: Text }
  | { kind: 'needs_reason'; action: ActionRow }
  | { kind: 'awaiting'; action: ActionRow }
  | { kind: 'cancelled'; action: ActionRow }
  | { kind: 'running'; action: ActionRow };

export type Progress = (note: ProgressNote) => Promise<void>;

/** What a person's press or submission asks of an action, or the clock's expiry of one waiting too long. */
export type StepEvent = 'confirm' | 'reason' | 'approve' | 'cancel' | 'pick' | 'expire';

interface Step {
  /** The states the event may start from; from any other the action is already past it. */
  from: readonly ActionState[];
  /** The states its one atomic UPDATE may lead to. */
  to: readonly ActionState[];
  /** Whether an expired confirmation refuses it (and is marked expired); a cancel never waits on the clock. */
  expires: boolean;
  /** What a refused non-operator tried, for the audit log; without it (a pick) the refusal is quiet. */
  attempt?: (label: string) => string;
}

/**
 * The one transition table. Previewed and confirmed both live in `pending` (a confirmed
 * high-risk action stays there until its reason); then `awaiting_approval` under the two-person
 * rule, `running`, and `succeeded`/`failed` from execute(); `expired` and `cancelled` on the way.
 */
export const STEPS: Record<StepEvent, Step> = {
  confirm: { from: ['pending'], to: ['pending', 'running'], expires: true, attempt: (label) => `confirm ${label}` },
  reason: {
    from: ['pending'],
    to: ['awaiting_approval', 'running'],
    expires: true,
    attempt: (label) => `give a reason for ${label}`,
  },
  approve: { from: ['awaiting_approval'], to: ['running'], expires: true, attempt: (label) => `approve ${label}` },
  cancel: {
    from: ['pending', 'awaiting_approval'],
    to: ['cancelled'],
    expires: false,
    attempt: (label) => `cancel ${label}`,
  },
  pick: { from: ['pending'], to: ['pending'], expires: false },
  expire: { from: ['pending', 'awaiting_approval'], to: ['expired'], expires: false },
};

/** A submission of the mark-scan-failed modal, judged: a sentence for the scan ID input, or a running row (undefined for a repeated submission). */
export type ScanSubmission = { kind: 'error'; message: string } | { kind: 'running'; action: ActionRow | undefined };

/** One line a person reads for any failure (values: blocks/ renders them); the cause goes to the log. */
export function sentenceOf(err: unknown, redactor: Redactor): Text {
  if (err instanceof UserError) return err.text;
  if (err instanceof TargetError) return redactor.redact(err.sentence());
  if (err instanceof z.ZodError)
    return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
  return redactor.redact(`failed: ${(err as Error)?.message ?? String(err)}`);
}

/** What the service is built with, in bot.ts: no Slack client, only the ports it needs. */
export interface RemediationDeps {
  config: Config;
  log: Logger;
  targets: Targets;
  store: Sql;
  now(): Date;
  /** Scrubs outcomes and failure sentences of the config's secrets before they are stored or shown. */
  redactor: Redactor;
  /** The members of an operator user group (S…); the Slack glue answers it with usergroups.users.list. */
  listGroupMembers(groupId: string): Promise<string[]>;
  /** This process among the replicas: it owns (and heartbeats) the actions it moves to `running`. */
  replicaId?: string;
}

export class RemediationService {
  readonly operators: Operators;

  constructor(private readonly deps: RemediationDeps) {
    this.operators = createOperators({
      ids: deps.config.DMP_OPERATORS,
      listGroup: deps.listGroupMembers,
      ttlMs: deps.config.OPERATOR_CACHE_TTL,
      now: () => deps.now().getTime(),
      log: deps.log,
    });
  }

  context(progress: Progress): ActionContext {
    return { targets: this.deps.targets, config: this.deps.config, log: this.deps.log, now: this.deps.now, progress };
  }

  isHighRisk(remedy: AnyRemediation, params: Params): boolean {
    const keys = remedy.riskKeys(params);
    return keys.some((k) => this.deps.config.HIGH_RISK_ACTIONS.includes(k));
  }

  /** Refuses non-operators (audited); undefined when the user may go on. */
  async refusal(
    userId: string,
    channelId: string | undefined,
    action: string,
    text?: string,
  ): Promise<string | undefined> {
    if (await this.operators.isOperator(userId)) return undefined;
    await this.audit({
      userId,
      channelId,
      action,
      outcome: 'refused',
      text: text ?? action,
      reason: 'not an operator',
    });
    return REFUSAL;
  }

  /** Checks the user, validates the parameters, previews, and stores a pending confirmation. */
  async start(input: Where & { remedy: string; params: unknown; openKey?: string }): Promise<StartResult> {
    const remedy = findRemediation(input.remedy);
    if (!remedy) return { kind: 'invalid', message: `There is no remediation called ${input.remedy}.` };
    const refused = await this.refusal(
      input.userId,
      input.channelId,
      remedy.id,
      `preview ${remedy.id} ${JSON.stringify(input.params)}`,
    );
    if (refused) return { kind: 'refused', message: refused };
    if (input.openKey) {
      const open = await findOpenByKey(this.deps.store, input.openKey);
      if (open && open.expiresAt > this.deps.now()) return { kind: 'duplicate', action: open };
    }
    let params: Params;
    let preview: Preview;
    try {
      params = remedy.parse(input.params);
      preview = await remedy.preview(
        this.context(async () => {}),
        params,
      );
    } catch (err) {
      if (!(err instanceof UserError || err instanceof TargetError || err instanceof z.ZodError)) throw err;
      const message = sentenceOf(err, this.deps.redactor);
      await this.audit({
        userId: input.userId,
        channelId: input.channelId,
        action: remedy.id,
        outcome: 'refused',
        text: `preview ${remedy.id}`,
        reason: plainText(message),
      });
      return { kind: 'invalid', message };
    }
    const label = remedy.label(params);
    const stored: StoredPreview = {
      summary: preview.summary,
      details: preview.details,
      choices: preview.choices,
      nothingToDo: preview.nothingToDo,
    };
    if (preview.nothingToDo) {
      await this.audit({
        userId: input.userId,
        channelId: input.channelId,
        action: remedy.id,
        outcome: 'previewed',
        text: `${label}: ${plainText(preview.summary)}`,
        detail: { params, nothingToDo: plainText(preview.nothingToDo) },
      });
      return { kind: 'nothing', remedy, label, preview };
    }
    const full = { ...params, ...preview.pinned };
    const highRisk = this.isHighRisk(remedy, full);
    const action = await createAction(
      this.deps.store,
      {
        remedy: remedy.id,
        params: full,
        preview: stored,
        state: 'pending',
        highRisk,
        requestedBy: input.userId,
        channelId: input.channelId,
        messageTs: input.messageTs,
        threadTs: input.threadTs,
        expiresAt: new Date(this.deps.now().getTime() + this.deps.config.CONFIRM_TTL),
        openKey: input.openKey,
      },
      this.deps.now(),
    );
    if (!action) {
      const open = input.openKey ? await findOpenByKey(this.deps.store, input.openKey) : undefined;
      if (open) return { kind: 'duplicate', action: open };
      return { kind: 'invalid', message: 'That preview could not be stored; try again.' };
    }
    await this.audit({
      userId: input.userId,
      channelId: input.channelId,
      action: remedy.id,
      outcome: 'previewed',
      text: `${label}: ${plainText(preview.summary)}`,
      detail: { id: action.id, params: full, highRisk },
    });
    return { kind: 'preview', action, remedy, label, highRisk };
  }

  /** Records where the confirmation message lives, once the handler has posted it. */
  async attachMessage(id: string, refs: { messageTs?: string; threadTs?: string; approvalTs?: string }): Promise<void> {
    await setMessages(this.deps.store, id, refs);
  }

  private async expire(row: ActionRow, userId: string): Promise<StepResult> {
    const expired = await this.move('expire', row, 'expired');
    if (!expired) {
      const now = await getAction(this.deps.store, row.id);
      return now ? { kind: 'already', action: now } : { kind: 'unknown' };
    }
    await this.audit({
      userId,
      channelId: row.channelId,
      action: row.remedy,
      outcome: 'expired',
      text: `${this.labelOf(row)}: the confirmation expired; nothing was done`,
      detail: { id: row.id },
    });
    return { kind: 'expired', action: expired };
  }

  /**
   * The one prelude every step goes through, in this order: the row, the operator check, the
   * input check (`validate`), the states the table allows, the actor rule (`guard`), the clock.
   * Gives the row to move, or the answer to give instead.
   */
  private async begin(
    event: StepEvent,
    input: { id: string; userId: string; channelId?: string },
    checks: {
      validate?: (row: ActionRow) => StepResult | undefined;
      guard?: (row: ActionRow) => Promise<StepResult | undefined>;
    } = {},
  ): Promise<{ row: ActionRow; answer?: undefined } | { answer: StepResult }> {
    const step = STEPS[event];
    const row = await getAction(this.deps.store, input.id);
    if (!row) return { answer: { kind: 'unknown' } };
    if (step.attempt) {
      const refused = await this.refusal(
        input.userId,
        input.channelId ?? row.channelId,
        row.remedy,
        step.attempt(this.labelOf(row)),
      );
      if (refused) return { answer: { kind: 'refused', message: refused } };
    } else if (!(await this.operators.isOperator(input.userId)))
      return { answer: { kind: 'refused', message: REFUSAL } };
    const invalid = checks.validate?.(row);
    if (invalid) return { answer: invalid };
    if (!step.from.includes(row.state)) return { answer: { kind: 'already', action: row } };
    const blocked = await checks.guard?.(row);
    if (blocked) return { answer: blocked };
    if (step.expires && row.expiresAt <= this.deps.now()) return { answer: await this.expire(row, input.userId) };
    return { row };
  }

  /** The one atomic UPDATE of a step: from the states the table allows to one it may lead to. */
  private async move(
    event: StepEvent,
    row: ActionRow,
    to: ActionState,
    set?: TransitionSet,
    guard?: TransitionGuard,
    // The audit rows that come before "started" (a confirmation), so the log reads in order.
    before?: (moved: ActionRow) => Promise<void>,
  ): Promise<ActionRow | undefined> {
    const step = STEPS[event];
    if (!step.to.includes(to)) throw new Error(`a ${event} cannot lead to ${to}`);
    const running = to === 'running' ? { owner: this.deps.replicaId, startedAt: this.deps.now() } : {};
    const moved = await transition(this.deps.store, row.id, [...step.from], to, { ...set, ...running }, guard);
    if (moved && before) await before(moved);
    if (moved?.state === 'running') await this.auditStarted(moved, event);
    return moved;
  }

  /** The audit row of an action moving to `running`: who set it off, and what it will do. */
  private async auditStarted(row: ActionRow, step: StepEvent | 'submit'): Promise<void> {
    await this.audit({
      userId: row.approvedBy ?? row.confirmedBy ?? row.requestedBy,
      channelId: row.channelId,
      action: row.remedy,
      outcome: 'started',
      text: `started ${this.labelOf(row)}: ${plainText(row.preview.summary)}`,
      reason: row.reason,
      detail: {
        id: row.id,
        step,
        params: row.params,
        requestedBy: row.requestedBy,
        confirmedBy: row.confirmedBy,
        approvedBy: row.approvedBy,
        replica: row.owner,
      },
    });
  }

  /** A press of Confirm. High-risk actions go on to a reason (and approval); others run now. */
  async confirm(input: Where & { id: string; selected?: string[] }): Promise<StepResult> {
    const begun = await this.begin('confirm', input);
    if (begun.answer) return begun.answer;
    const { row } = begun;
    await setMessages(this.deps.store, row.id, {
      messageTs: input.messageTs,
      threadTs: input.threadTs ?? input.messageTs,
    });
    const remedy = findRemediation(row.remedy);
    if (!remedy) return { kind: 'unknown' };
    let params = row.params;
    if (remedy.select && input.selected) params = remedy.select(params, input.selected);
    const highRisk = this.isHighRisk(remedy, params);
    if (highRisk) {
      // Stays pending: the reason modal's submission makes the next move.
      const kept = await this.move('confirm', row, 'pending', { params, highRisk }, { unexpiredAt: this.deps.now() });
      if (!kept) return this.settled(row.id, input.userId);
      await this.auditConfirmed(kept, input.userId, 'confirmed; high risk, so a reason is needed');
      return { kind: 'needs_reason', action: kept };
    }
    const running = await this.move(
      'confirm',
      row,
      'running',
      { confirmedBy: input.userId, params, highRisk },
      { unexpiredAt: this.deps.now() },
      (moved) => this.auditConfirmed(moved, input.userId, 'confirmed'),
    );
    if (!running) return this.settled(row.id, input.userId);
    return { kind: 'running', action: running };
  }

  /** The reason for a high-risk action: then a second operator's approval, or a run when the rule is off. */
  async submitReason(input: { id: string; userId: string; reason: string }): Promise<StepResult> {
    const parsed = reasonText.safeParse(input.reason);
    const begun = await this.begin('reason', input, {
      validate: (row) =>
        parsed.success
          ? undefined
          : { kind: 'invalid', action: row, message: parsed.error.issues[0]?.message ?? 'a reason is needed' },
    });
    if (begun.answer) return begun.answer;
    if (!parsed.success) return { kind: 'unknown' };
    const { row } = begun;
    const now = this.deps.now();
    if (this.deps.config.TWO_PERSON_RULE) {
      const waiting = await this.move(
        'reason',
        row,
        'awaiting_approval',
        {
          confirmedBy: input.userId,
          reason: parsed.data,
          expiresAt: new Date(now.getTime() + this.deps.config.CONFIRM_TTL),
        },
        { unexpiredAt: now },
      );
      if (!waiting) return this.settled(row.id, input.userId);
      await this.auditConfirmed(waiting, input.userId, 'confirmed with a reason; asked a second operator to approve');
      return { kind: 'awaiting', action: waiting };
    }
    const running = await this.move(
      'reason',
      row,
      'running',
      { confirmedBy: input.userId, reason: parsed.data },
      { unexpiredAt: now },
      (moved) => this.auditConfirmed(moved, input.userId, 'confirmed with a reason'),
    );
    if (!running) return this.settled(row.id, input.userId);
    return { kind: 'running', action: running };
  }

  /** A press of Approve: a second operator, never the one who asked. */
  async approve(input: Where & { id: string }): Promise<StepResult> {
    const begun = await this.begin('approve', input, {
      guard: async (row) => {
        if (input.userId !== row.requestedBy && input.userId !== row.confirmedBy) return undefined;
        await this.audit({
          userId: input.userId,
          channelId: row.channelId,
          action: row.remedy,
          outcome: 'refused',
          text: `approve ${this.labelOf(row)}`,
          reason: 'two-person rule: the requester cannot approve',
          detail: { id: row.id },
        });
        return { kind: 'own', action: row, message: OWN_APPROVAL };
      },
    });
    if (begun.answer) return begun.answer;
    const { row } = begun;
    const running = await this.move(
      'approve',
      row,
      'running',
      { approvedBy: input.userId },
      { unexpiredAt: this.deps.now(), notSameAs: input.userId },
    );
    if (!running) return this.settled(row.id, input.userId);
    await this.audit({
      userId: input.userId,
      channelId: row.channelId,
      action: row.remedy,
      outcome: 'approved',
      text: `approved ${this.labelOf(row)}`,
      reason: row.reason,
      detail: { id: row.id, requestedBy: row.requestedBy, confirmedBy: row.confirmedBy },
    });
    return { kind: 'running', action: running };
  }

  async cancel(input: Where & { id: string }): Promise<StepResult> {
    const begun = await this.begin('cancel', input);
    if (begun.answer) return begun.answer;
    const { row } = begun;
    const cancelled = await this.move('cancel', row, 'cancelled', { cancelledBy: input.userId });
    if (!cancelled) return this.settled(row.id, input.userId);
    await this.audit({
      userId: input.userId,
      channelId: row.channelId,
      action: row.remedy,
      outcome: 'cancelled',
      text: `cancelled ${this.labelOf(row)}`,
      detail: { id: row.id },
    });
    return { kind: 'cancelled', action: cancelled };
  }

  /** Remembers ticked checkboxes while the action waits; the Confirm press reads them too. Anything else is ignored quietly. */
  async pick(input: { id: string; userId: string; values: string[] }): Promise<void> {
    const begun = await this.begin('pick', input, {
      validate: (row) => (findRemediation(row.remedy)?.select ? undefined : { kind: 'unknown' }),
    });
    if (begun.answer) return;
    const select = findRemediation(begun.row.remedy)?.select;
    if (select) await this.move('pick', begun.row, 'pending', { params: select(begun.row.params, input.values) });
  }

  /**
   * Runs an action the caller moved to `running` (only that caller has the row), records the
   * outcome in the row and the audit log. Never throws: a failure is an outcome.
   */
  async execute(row: ActionRow, progress: Progress): Promise<{ action: ActionRow; outcome: Outcome }> {
    const started = performance.now();
    const remedy = findRemediation(row.remedy);
    let outcome: Outcome;
    if (!remedy) outcome = { ok: false, summary: `unknown remediation ${row.remedy}` };
    else {
      try {
        outcome = await remedy.execute(this.context(progress), row.params);
      } catch (err) {
        if (!(err instanceof UserError || err instanceof TargetError || err instanceof z.ZodError))
          this.deps.log.error({ err, action: row.remedy, id: row.id }, 'remediation failed');
        outcome = { ok: false, summary: sentenceOf(err, this.deps.redactor) };
      }
    }
    const { redactor } = this.deps;
    outcome = {
      ...outcome,
      summary: redactor.redactDeep(outcome.summary),
      details: outcome.details?.map((d) => redactor.redactDeep(d)),
    };
    const done = (await transition(this.deps.store, row.id, ['running'], outcome.ok ? 'succeeded' : 'failed', {
      result: outcome,
    })) ?? { ...row, state: outcome.ok ? 'succeeded' : 'failed', result: outcome };
    await this.audit({
      userId: row.confirmedBy ?? row.requestedBy,
      channelId: row.channelId,
      action: row.remedy,
      outcome: outcome.ok ? 'ok' : 'error',
      text: `${this.labelOf(row)}: ${plainText(outcome.summary)}`,
      reason: row.reason,
      detail: {
        id: row.id,
        params: row.params,
        requestedBy: row.requestedBy,
        confirmedBy: row.confirmedBy,
        approvedBy: row.approvedBy,
        details: outcome.details?.slice(0, 20),
      },
      durationMs: Math.round(performance.now() - started),
    });
    return { action: done, outcome };
  }

  /**
   * For actions whose modal is their confirmation (mark a scan failed): stores the row already
   * running. A second submission of the same modal (same once key) gets undefined and does nothing.
   */
  async startConfirmed(
    input: Where & { remedy: string; params: Params; preview: StoredPreview; onceKey: string },
  ): Promise<ActionRow | undefined> {
    const remedy = findRemediation(input.remedy);
    if (!remedy) return undefined;
    const params = remedy.parse(input.params);
    const row = await createAction(
      this.deps.store,
      {
        remedy: remedy.id,
        params,
        preview: input.preview,
        state: 'running',
        highRisk: false,
        requestedBy: input.userId,
        confirmedBy: input.userId,
        channelId: input.channelId,
        threadTs: input.threadTs,
        expiresAt: new Date(this.deps.now().getTime() + this.deps.config.CONFIRM_TTL),
        onceKey: input.onceKey,
        owner: this.deps.replicaId,
      },
      this.deps.now(),
    );
    if (row) await this.auditConfirmed(row, input.userId, 'confirmed in its form');
    if (row) await this.auditStarted(row, 'submit');
    return row;
  }

  /**
   * The scan for the mark-scan-failed modal, looked up within a bound so the trigger_id is still
   * valid when the modal opens; any failure just shows the form without it.
   */
  async showScan(where: Where, scanId?: string): Promise<ScanShown> {
    if (!scanId) return {};
    try {
      const scan = await lookupScan({ targets: this.deps.targets }, scanId, 1_500);
      if (!scan) return { scanId };
      await this.auditPreview(where, 'mark-scan-failed', `mark scan ${scan.id} failed: shown (status ${scan.status})`);
      return {
        scanId,
        found: {
          id: scan.id,
          lines: describeScan(scan, this.deps.now()),
          ...(isMarkable(scan)
            ? {}
            : { notMarkable: `It is ${scan.status}, not pending or running: there is nothing to mark.` }),
        },
      };
    } catch (err) {
      if (!(err instanceof TargetError)) this.deps.log.warn({ err }, 'scan lookup for the modal failed');
      return { scanId };
    }
  }

  /**
   * A submission of the mark-scan-failed modal (its own confirmation): an operator, a scan ID
   * that is a UUID, a scan that exists and is still pending or running; then stored running once
   * per modal and scan (onceKey), so a repeated submission does nothing.
   */
  async submitScanFail(input: Where & { scanId: string; onceKey: string }): Promise<ScanSubmission> {
    const refused = await this.refusal(
      input.userId,
      input.channelId,
      'mark-scan-failed',
      'submit the mark-scan-failed form',
    );
    if (refused) return { kind: 'error', message: refused };
    const parsed = SCAN_ID.safeParse(input.scanId);
    if (!parsed.success) {
      await this.auditPreview(
        { userId: input.userId, channelId: input.channelId },
        'mark-scan-failed',
        'rejected a scan ID that is not a UUID',
        { input: input.scanId.slice(0, 100) },
      );
      return {
        kind: 'error',
        message: `That is not a scan ID: a scan ID is a UUID such as 6f1c1b7e-0000-4000-8000-000000000001.`,
      };
    }
    const scanId = parsed.data;
    let scan: Awaited<ReturnType<typeof lookupScan>>;
    try {
      scan = await lookupScan({ targets: this.deps.targets }, scanId, 2_000);
    } catch (err) {
      return {
        kind: 'error',
        message: err instanceof TargetError ? err.sentence() : 'The scan could not be looked up; try again.',
      };
    }
    if (!scan) return { kind: 'error', message: `There is no scan ${scanId}.` };
    const lines = describeScan(scan, this.deps.now());
    if (!isMarkable(scan))
      return {
        kind: 'error',
        message: `Scan ${scanId} is ${scan.status}, not pending or running: there is nothing to mark.`,
      };
    const action = await this.startConfirmed({
      remedy: 'mark-scan-failed',
      params: { scanId },
      preview: { summary: markSummary(scan), details: lines },
      userId: input.userId,
      channelId: input.channelId,
      threadTs: input.threadTs,
      onceKey: `${input.onceKey}:${scanId}`,
    });
    return { kind: 'running', action };
  }

  /** Audits a preview shown somewhere other than a message (a modal). */
  async auditPreview(where: Where, remedy: string, text: string, detail?: Record<string, unknown>): Promise<void> {
    await this.audit({
      userId: where.userId,
      channelId: where.channelId,
      action: remedy,
      outcome: 'previewed',
      text,
      detail,
    });
  }

  labelOf(row: ActionRow): string {
    const remedy = findRemediation(row.remedy);
    try {
      return remedy ? remedy.label(row.params) : row.remedy;
    } catch {
      return row.remedy;
    }
  }

  /** After a lost race: what state the row is in now. */
  private async settled(id: string, userId: string): Promise<StepResult> {
    const now = await getAction(this.deps.store, id);
    if (!now) return { kind: 'unknown' };
    if (STEPS.expire.from.includes(now.state) && now.expiresAt <= this.deps.now()) return this.expire(now, userId);
    return { kind: 'already', action: now };
  }

  /** The confirmation step's row: who confirmed what, with the parameters it will run with. */
  private async auditConfirmed(row: ActionRow, userId: string, step: string): Promise<void> {
    await this.audit({
      userId,
      channelId: row.channelId,
      action: row.remedy,
      outcome: 'confirmed',
      text: `${this.labelOf(row)}: ${step}`,
      reason: row.reason,
      detail: { id: row.id, params: row.params, highRisk: row.highRisk },
    });
  }

  private async audit(e: {
    userId: string;
    channelId?: string;
    action: string;
    outcome: AuditOutcome;
    text?: string;
    reason?: string;
    detail?: Record<string, unknown>;
    durationMs?: number;
  }): Promise<void> {
    try {
      await recordAudit(this.deps.store, { kind: 'remediation', ...e });
    } catch (err) {
      this.deps.log.error({ err }, 'could not write the audit log');
    }
  }
}
