import { findOptOuts } from "../db/consents";
import { ApiError, type ErrorIssue } from "../errors";
import { refuses } from "../lib/consent";

/** A contact a request would write for: a link (no category) or a message registration. */
export type ContactUse = { contactHash: string; category: string | null; path: (string | number)[] };

/**
 * Refuses the whole request (409 `opted_out`, each contact in `issues`) when any of its contacts has an
 * opt-out that covers its use; one query for the whole request, whatever its size.
 */
export async function refuseOptedOut(d1: D1Database, workspaceId: string, uses: ContactUse[]): Promise<void> {
  if (uses.length === 0) return;
  const optOuts = await findOptOuts(
    d1,
    workspaceId,
    uses.map((use) => use.contactHash),
  );
  const issues: ErrorIssue[] = uses
    .filter((use) => refuses(optOuts.get(use.contactHash), use.category))
    .map((use) => ({
      path: use.path,
      code: "opted_out",
      message: optOuts.get(use.contactHash)!.everything
        ? "The contact opted out"
        : "The contact stopped marketing messages on WhatsApp",
    }));
  if (issues.length > 0) {
    throw new ApiError("opted_out", "A contact opted out; nothing was written. See issues.", issues);
  }
}
