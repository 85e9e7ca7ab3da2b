import { listDeadLetters } from "../db/dead-letters";
import type { DeadLetterRow } from "../db/schema";
import { createRoute, createRouter } from "../middleware/validation";
import { requireApiKey } from "../middleware/auth";
import { bearerSecurity, errorResponses, jsonResponse, ListQuery, toIso } from "../schemas/common";
import { DeadLetterList } from "../schemas/dead-letters";

export const deadLetterRoutes = createRouter();

function readPayload(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return payload; // cut at the size limit: shown as the text that was kept
  }
}

const serializeDeadLetter = (row: DeadLetterRow) => ({
  id: row.id,
  kind: row.kind,
  reason: row.reason,
  event: readPayload(row.payload),
  createdAt: toIso(row.createdAt)!,
});

deadLetterRoutes.openapi(
  createRoute({
    method: "get",
    path: "/dead-letters",
    summary: "Events of this workspace that could never be stored, with the reason, newest first",
    security: bearerSecurity,
    middleware: [requireApiKey("admin")],
    tags: ["Workspaces"],
    request: { query: ListQuery },
    responses: { 200: jsonResponse(DeadLetterList, "Dead letters"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const page = await listDeadLetters(c.var.db, c.var.auth.workspace.id, c.req.valid("query"));
    return c.json({ deadLetters: page.items.map((r) => serializeDeadLetter(r.row)), nextCursor: page.nextCursor }, 200);
  },
);
