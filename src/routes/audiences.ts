import { readAudience, type AudiencePage } from "../audiences/read";
import { caughtUp } from "../middleware/caught-up";
import { requireApiKey } from "../middleware/auth";
import { createRoute, createRouter } from "../middleware/validation";
import { AudienceList, AudienceQuery } from "../schemas/audiences";
import { bearerSecurity, errorResponses } from "../schemas/common";
import { reportResponse } from "../schemas/reports";
import { respondReport } from "./reports/respond";

export const audienceRoutes = createRouter();

const CSV_HEADER = ["messageId", "externalId", "linkCode", "variant", "reachedAt"] as const;

audienceRoutes.openapi(
  createRoute({
    method: "get",
    path: "/audiences",
    summary: "The messages of a campaign at a stage, to follow up (clicked but did not buy, limited by Meta, …)",
    description:
      "Paged in the order the messages reached the stage (`nextCursor`; in CSV, the `X-Next-Cursor` header, absent on the last page). Group messages and contacts whose latest consent record is an opt-out are left out.",
    middleware: [requireApiKey("reports:read"), caughtUp],
    security: bearerSecurity,
    tags: ["Audiences"],
    request: { query: AudienceQuery },
    responses: {
      200: reportResponse(AudienceList, `One page (CSV: ${CSV_HEADER.join(",")})`),
      ...errorResponses(400, 401, 403),
    },
  }),
  async (c) => {
    const { format, ...query } = c.req.valid("query");
    const page = await readAudience(c.var.db, c.var.d1, { ...query, workspaceId: c.var.auth.workspace.id });
    return respondReport(
      c,
      format,
      page,
      (p: AudiencePage) => ({ header: CSV_HEADER, rows: p.messages.map((m) => CSV_HEADER.map((column) => m[column])) }),
      "audience",
      page.nextCursor ? { "x-next-cursor": page.nextCursor } : {},
    );
  },
);
