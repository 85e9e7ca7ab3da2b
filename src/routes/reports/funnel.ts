import { caughtUp } from "../../middleware/caught-up";
import { findCampaign } from "../../db/campaigns";
import { ApiError } from "../../errors";
import { createRoute, createRouter } from "../../middleware/validation";
import { requireApiKey } from "../../middleware/auth";
import { abVariants } from "../../reports/ab";
import { funnelReport } from "../../reports/funnel";
import { reportCosts } from "../../reports/cost";
import { EMPTY_TOTALS, GROUP_BY, sumMessages } from "../../reports/messages";
import { reportFilter } from "../../reports/range";
import { bearerSecurity, errorResponses } from "../../schemas/common";
import { AbReport, FunnelReport, ReportQuery, reportResponse, WindowParam } from "../../schemas/reports";
import * as z from "../../schemas/zod";
import { respondReport } from "./respond";

export const funnelRoutes = createRouter();

const common = { security: bearerSecurity, tags: ["Reports"], middleware: [requireApiKey("reports:read"), caughtUp] };

funnelRoutes.openapi(
  createRoute({
    ...common,
    method: "get",
    path: "/reports/funnel",
    summary: "Sent → delivered → read → clicked → converted, per sent message",
    request: { query: z.extend(ReportQuery, { window: WindowParam, groupBy: z.optional(z.enum(GROUP_BY)) }) },
    responses: { 200: reportResponse(FunnelReport, "The funnel"), ...errorResponses(400, 401, 403) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const filter = reportFilter(c.var.auth.workspace.id, query);
    const body = await funnelReport(c.var.d1, filter, query.window, query.groupBy);
    return respondReport(c, query.format, body, funnelTable, "funnel");
  },
);

function funnelTable(body: Omit<z.infer<typeof FunnelReport>, "asOf">) {
  const groups = body.groups ?? [{ key: null, steps: body.steps }];
  return {
    header: ["group", "step", "count", "inferred", "rateFromPrevious", "rateFromFirst"],
    rows: groups.flatMap((g) =>
      g.steps.map((s) => [g.key, s.name, s.count, s.inferred ?? null, s.rateFromPrevious, s.rateFromFirst]),
    ),
  };
}

funnelRoutes.openapi(
  createRoute({
    ...common,
    method: "get",
    path: "/reports/ab",
    summary: "Compare a campaign's variants: rates, uplift over the first variant, two-proportion z-test",
    request: {
      query: z.extend(z.omit(ReportQuery, { campaignId: true, variant: true }), {
        campaignId: z.string().check(z.minLength(1), z.maxLength(64)),
        metric: z._default(z.enum(["conversion", "click"]), "conversion"),
        window: WindowParam,
      }),
    },
    responses: { 200: reportResponse(AbReport, "Variants compared"), ...errorResponses(400, 401, 403, 404) },
  }),
  async (c) => {
    const query = c.req.valid("query");
    const workspaceId = c.var.auth.workspace.id;
    const campaign = await findCampaign(c.var.db, workspaceId, query.campaignId);
    if (!campaign) throw new ApiError("not_found", `No campaign ${query.campaignId} in this workspace.`);
    const filter = reportFilter(workspaceId, { ...query, campaignId: [query.campaignId], variant: undefined });
    const [totals, costs] = await Promise.all([
      sumMessages(c.var.d1, filter, query.window, "variant"),
      reportCosts(c.var.d1, filter, c.var.auth.workspace.settings.rateCard, true),
    ]);
    const body = {
      metric: query.metric,
      window: query.window,
      variants: abVariants(campaign.variants, totals, query.metric).map(({ totals: t, ...v }) => ({
        ...v,
        cost: costs(v.variant, t ?? EMPTY_TOTALS),
      })),
    };
    return respondReport(c, query.format, body, abTable, "ab");
  },
);

function abTable(body: Omit<z.infer<typeof AbReport>, "asOf">) {
  return {
    header: [
      "variant",
      "messages",
      "clicks",
      "conversions",
      "rate",
      "uplift",
      "pValue",
      "significant",
      "limited",
      "experiment",
      "cost",
      "costCurrency",
    ],
    rows: body.variants.map((v) => [
      v.variant,
      v.messages,
      v.clicks,
      v.conversions,
      v.rate,
      v.uplift,
      v.pValue,
      v.significant,
      v.limited,
      v.experiment,
      v.cost?.total ?? null,
      v.cost?.currency ?? null,
    ]),
  };
}
