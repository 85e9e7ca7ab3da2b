import { listFailedGa4Events, readGa4Status, replayGa4Events } from "../db/ga4";
import type { Ga4EventRow } from "../db/schema";
import { forwardToGa4 } from "../ga4/forward";
import { wakeSender } from "../events/deliveries";
import { createRoute, createRouter } from "../middleware/validation";
import { ReplayResult, replayRequestBody } from "../schemas/replay";
import { requireApiKey } from "../middleware/auth";
import { bearerSecurity, errorResponses, jsonResponse, ListQuery, toIso } from "../schemas/common";
import { Ga4FailedList, Ga4Status } from "../schemas/ga4";
import { loggableError } from "../lib/loggable-error";

export const ga4Routes = createRouter();

ga4Routes.openapi(
  createRoute({
    method: "get",
    path: "/ga4/status",
    summary: "How forwarding to GA4 stands: events pending, sent, failed and skipped",
    security: bearerSecurity,
    middleware: [requireApiKey("reports:read")],
    tags: ["GA4"],
    responses: { 200: jsonResponse(Ga4Status, "Counts of forwarded events"), ...errorResponses(401, 403) },
  }),
  async (c) => {
    // Clicks and conversions recorded a moment ago count as pending, not as nothing; if the outbox cannot
    // be read now, the counts are those of what was already read.
    try {
      await forwardToGa4(c.env, { budgetMs: 1_000 });
    } catch (err) {
      console.warn(JSON.stringify({ event: "ga4_forward_failed", error: loggableError(err) }));
    }
    return c.json(await readGa4Status(c.env.DB, c.var.auth.workspace.id), 200);
  },
);

const serializeFailed = (row: Ga4EventRow) => ({
  id: row.id,
  kind: row.kind,
  subjectId: row.subjectId,
  name: String(row.event.name),
  occurredAt: toIso(row.occurredAt)!,
  attempts: row.attempts,
  reason: row.reason,
  failedAt: toIso(row.updatedAt)!,
});

ga4Routes.openapi(
  createRoute({
    method: "get",
    path: "/ga4/failed",
    summary: "The dead-letter store: events GA4 forwarding gave up on, newest first, with the reason",
    security: bearerSecurity,
    middleware: [requireApiKey("reports:read")],
    tags: ["GA4"],
    request: { query: ListQuery },
    responses: { 200: jsonResponse(Ga4FailedList, "Failed events"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const page = await listFailedGa4Events(c.var.db, c.var.auth.workspace.id, c.req.valid("query"));
    return c.json({ events: page.items.map((r) => serializeFailed(r.row)), nextCursor: page.nextCursor }, 200);
  },
);

ga4Routes.openapi(
  createRoute({
    method: "post",
    path: "/ga4/replay",
    summary: "Send failed events to GA4 again (all of them, or those named)",
    description:
      "Puts failed events back in the queue, due at once, with their retries counted from zero. An event that has meanwhile become more than 72 hours old is counted as skipped instead of sent.",
    security: bearerSecurity,
    middleware: [requireApiKey("admin")],
    tags: ["GA4"],
    request: { body: replayRequestBody },
    responses: { 200: jsonResponse(ReplayResult, "How many were put back"), ...errorResponses(400, 401, 403, 415) },
  }),
  async (c) => {
    const { ids } = c.req.valid("json");
    const replayed = await replayGa4Events(c.env.DB, c.var.auth.workspace.id, ids, Date.now());
    if (replayed > 0) await wakeSender(c.env, "ga4");
    return c.json({ replayed }, 200);
  },
);
