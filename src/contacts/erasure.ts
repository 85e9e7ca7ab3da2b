import { findSameContact } from "../db/contact-aliases";
import { emptyErasedCounts, eraseContactRows, type ErasedCounts } from "../db/erasure";
import { forgetRedirectTarget } from "../db/link-cache";
import { drainOutbox } from "../events/pipeline";
import { hashContact } from "../lib/contact";

/**
 * How long an erasure is remembered, so that work about the contact still in the queue is dropped:
 * longer than the queue keeps a message (4 days, and up to 14 when configured so).
 */
export const ERASURE_MEMORY_DAYS = 15;

/** Slices of the outbox applied first, so that the contact's newest messages are known to erasure. */
const CATCH_UP_SLICES = 10;

/**
 * Erases everything tied to a contact (a normalised id) in one workspace; another workspace's rows
 * with the same contact are never touched. Answers what went, per kind. Safe to repeat.
 */
export async function eraseContact(env: Env, workspaceId: string, contactId: string): Promise<ErasedCounts> {
  // Messages are found through the rollup consumer's record of each contact's messages: what is
  // pending in the outbox is applied first.
  await drainOutbox(env.DB, { budgetMs: Infinity, slices: CATCH_UP_SLICES });
  const contactHash = await hashContact(env.PII_PEPPER, contactId);
  // A phone number and the WhatsApp user ids paired with it are one person: all of them go.
  const hashes = await findSameContact(env.DB, workspaceId, contactHash);
  const counts = emptyErasedCounts();
  const now = Date.now();
  for (const hash of hashes) {
    const erased = await eraseContactRows(env.DB, workspaceId, hash, now);
    for (const kind of Object.keys(counts) as (keyof ErasedCounts)[]) counts[kind] += erased.counts[kind];
    // Redirects read links from caches, which must not tie new clicks to the contact.
    await Promise.all(erased.unlinkedCodes.map((code) => forgetRedirectTarget(code)));
  }
  return counts;
}
