/** Observed times of a message's steps (epoch ms), as stored. */
export type ObservedSteps = {
  sentAt: number | null;
  deliveredAt: number | null;
  readAt: number | null;
  failedAt: number | null;
  clickedAt: number | null;
};

export type MessageStatus = "sent" | "delivered" | "read" | "failed";
export type InferableStep = "sent" | "delivered" | "read";

export type MessageState = ObservedSteps & { status: MessageStatus; inferred: InferableStep[] };

function earliest(...times: (number | null)[]): number | null {
  const known = times.filter((t): t is number => t !== null);
  return known.length > 0 ? Math.min(...known) : null;
}

/**
 * A message's state from what was observed, in any order: a human click on its link implies it was
 * read, read implies delivered, delivered implies sent. WhatsApp skips `delivered` when a message is
 * read at once and sends no `read` when receipts are off, so such steps are inferred (and flagged),
 * dated by the earliest later evidence. A `failed` that is followed by evidence of delivery counts
 * as delivered.
 */
export function deriveMessageState(observed: ObservedSteps): MessageState {
  const readAt = earliest(observed.readAt, observed.clickedAt);
  const deliveredAt = earliest(observed.deliveredAt, readAt);
  const sentAt = earliest(observed.sentAt, deliveredAt);
  const inferred: InferableStep[] = [];
  if (observed.sentAt === null && sentAt !== null) inferred.push("sent");
  if (observed.deliveredAt === null && deliveredAt !== null) inferred.push("delivered");
  if (observed.readAt === null && readAt !== null) inferred.push("read");

  let status: MessageStatus = "sent";
  if (readAt !== null) status = "read";
  else if (deliveredAt !== null) status = "delivered";
  else if (observed.failedAt !== null) status = "failed";
  return { sentAt, deliveredAt, readAt, failedAt: observed.failedAt, clickedAt: observed.clickedAt, status, inferred };
}
