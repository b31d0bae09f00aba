// A remediation action as the safety layer tracks it: what was previewed, who asked, confirmed
// or approved, its state and where the conversation lives. The store persists it; blocks/ renders it.
import type { Text } from '../domain/text.js';
import type { Outcome } from './types.js';

export type ActionState =
  | 'pending'
  | 'awaiting_approval'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'expired';

/** The preview as the row keeps it (JSON): values, or plain strings in rows stored before them. */
export interface StoredPreview {
  summary: Text;
  details?: Text[];
  choices?: Array<{ value: string; label: string }>;
  nothingToDo?: Text;
}

export interface ActionRow {
  id: string;
  remedy: string;
  params: Record<string, unknown>;
  preview: StoredPreview;
  state: ActionState;
  highRisk: boolean;
  requestedBy: string;
  confirmedBy?: string;
  approvedBy?: string;
  cancelledBy?: string;
  reason?: string;
  channelId: string;
  messageTs?: string;
  threadTs?: string;
  approvalTs?: string;
  result?: Outcome;
  createdAt: Date;
  expiresAt: Date;
  finishedAt?: Date;
  /** The replica running it (while `running`), and when it moved to `running`. */
  owner?: string;
  startedAt?: Date;
}
