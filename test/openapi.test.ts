import { describe, expect, it } from "vitest";
import { callJson, type Json } from "./helpers";

describe("GET /api/v1/openapi.json", () => {
  it("describes every route with the schemas that validate it", async () => {
    const res = await callJson("/api/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    const operations = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        "POST /api/v1/workspaces",
        "GET /api/v1/workspace",
        "PATCH /api/v1/workspace",
        "POST /api/v1/api-keys",
        "GET /api/v1/api-keys",
        "DELETE /api/v1/api-keys/{id}",
        "POST /api/v1/campaigns",
        "GET /api/v1/campaigns",
        "GET /api/v1/campaigns/{id}",
        "GET /api/v1/dead-letters",
        "POST /api/v1/contacts/erase",
        "GET /api/v1/ga4/status",
        "GET /api/v1/ga4/failed",
        "POST /api/v1/ga4/replay",
        "POST /api/v1/webhooks",
        "GET /api/v1/webhooks",
        "GET /api/v1/webhooks/{id}",
        "DELETE /api/v1/webhooks/{id}",
        "GET /api/v1/webhooks/{id}/deliveries",
        "POST /api/v1/webhooks/{id}/replay",
        "POST /api/v1/links",
        "POST /api/v1/links/bulk",
        "GET /api/v1/links",
        "GET /api/v1/links/{code}",
        "PATCH /api/v1/links/{code}",
        "DELETE /api/v1/links/{code}",
        "POST /api/v1/statuses",
        "POST /api/v1/messages",
        "GET /api/v1/messages/{id}",
        "POST /api/v1/contacts/consent",
        "POST /api/v1/conversions",
        "POST /api/v1/events",
        "GET /api/v1/reports/funnel",
        "GET /api/v1/reports/metrics",
        "GET /api/v1/reports/ab",
        "GET /api/v1/reports/retention",
        "GET /api/v1/reports/timeseries",
        "GET /api/v1/reports/heatmap",
        "GET /api/v1/reports/breakdown",
        "GET /api/v1/export/clicks",
        "GET /api/v1/export/conversions",
        "GET /api/v1/export/messages",
        "GET /api/v1/audiences",
        "GET /{code}",
        "GET /t/s.js",
        "POST /t/collect",
        "OPTIONS /t/collect",
        "GET /t/p.gif",
        "GET /webhooks/whatsapp/{workspaceId}",
        "POST /webhooks/whatsapp/{workspaceId}",
        "GET /dashboard",
        "GET /dashboard/dashboard.js",
        "GET /dashboard/dashboard.css",
      ].sort(),
    );
    expect(res.body.components.securitySchemes.apiKey).toEqual(
      expect.objectContaining({ type: "http", scheme: "bearer" }),
    );
    expect(Object.keys(res.body.components.schemas)).toEqual(
      expect.arrayContaining([
        "Error",
        "Link",
        "CreateLink",
        "BulkLinks",
        "Workspace",
        "FunnelReport",
        "MetricsReport",
      ]),
    );
    const createLink = res.body.paths["/api/v1/links"].post;
    expect(createLink.security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(createLink.responses)).toEqual(
      expect.arrayContaining(["201", "400", "401", "403", "409", "429"]),
    );
  });

  it("describes the redirect, the tracker and the WhatsApp webhook with the schemas they read", async () => {
    const { body } = await callJson("/api/v1/openapi.json");
    const { paths } = body;
    expect(Object.keys(paths["/{code}"].get.responses).sort()).toEqual(["302", "404", "410"]);
    expect(paths["/{code}"].get.parameters).toEqual([expect.objectContaining({ name: "code", in: "path" })]);
    expect(Object.keys(paths["/t/s.js"].get.responses["200"].content)).toEqual(["application/javascript"]);
    expect(Object.keys(paths["/t/collect"].post.requestBody.content).sort()).toEqual([
      "application/json",
      "text/plain",
    ]);
    expect(Object.keys(paths["/t/collect"].post.responses)).toEqual(expect.arrayContaining(["202", "429"]));
    const pixelParams = paths["/t/p.gif"].get.parameters.map((p: Json) => p.name).sort();
    expect(pixelParams).toEqual(["c", "cid", "e", "k", "o", "v"]);
    expect(Object.keys(paths["/t/p.gif"].get.responses)).toEqual(["200"]);
    const webhook = paths["/webhooks/whatsapp/{workspaceId}"];
    expect(webhook.get.parameters.map((p: Json) => p.name)).toEqual(
      expect.arrayContaining(["workspaceId", "hub.mode", "hub.verify_token", "hub.challenge"]),
    );
    expect(webhook.post.parameters.map((p: Json) => p.name)).toEqual(
      expect.arrayContaining(["workspaceId", "x-hub-signature-256"]),
    );
    expect(webhook.post.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/WhatsAppWebhookBody",
    });
    expect(Object.keys(webhook.post.responses)).toEqual(expect.arrayContaining(["200", "401", "413"]));
  });

  it("documents 429 with Retry-After on every route that authenticates", async () => {
    const { body } = await callJson("/api/v1/openapi.json");
    const operations = Object.values(body.paths as Record<string, Record<string, Json>>).flatMap((ops) =>
      Object.values(ops),
    );
    const authenticated = operations.filter((op) => op.responses["401"]);
    expect(authenticated.length).toBeGreaterThan(20);
    for (const op of authenticated) {
      expect(op.responses["429"].headers["Retry-After"].schema).toEqual({ type: "integer" });
    }
  });

  it("lists the error codes as the closed set the service answers with", async () => {
    const { body } = await callJson("/api/v1/openapi.json");
    const code = body.components.schemas.Error.properties.error.properties.code;
    expect(code.enum.sort()).toEqual(
      [
        "conflict",
        "forbidden",
        "gone",
        "internal_error",
        "invalid_json",
        "invalid_request",
        "method_not_allowed",
        "not_found",
        "opted_out",
        "payload_too_large",
        "rate_limited",
        "unauthorized",
        "unsupported_media_type",
      ].sort(),
    );
  });

  it("writes each schema as it validates: optional and defaulted parameters, nullable fields, formats", async () => {
    const { body } = await callJson("/api/v1/openapi.json");
    const list = body.paths["/api/v1/links"].get.parameters as Json[];
    expect(list.find((p) => p.name === "limit")).toEqual(
      expect.objectContaining({ in: "query", required: false, schema: expect.objectContaining({ default: 50 }) }),
    );
    const link = body.paths["/api/v1/links/{code}"].get.parameters as Json[];
    expect(link).toEqual([expect.objectContaining({ name: "code", in: "path", required: true })]);
    const { properties, required } = body.components.schemas.Link;
    expect(properties.campaignId.type).toEqual(["string", "null"]);
    expect(properties.utm.anyOf).toEqual([{ $ref: "#/components/schemas/Utm" }, { type: "null" }]);
    expect(properties.createdAt).toEqual(expect.objectContaining({ type: "string", format: "date-time" }));
    expect(properties.createdAt.pattern).toBeUndefined();
    expect(properties.clicks).toEqual({ type: "integer", description: "Human clicks" });
    expect(required).toEqual(expect.arrayContaining(["id", "code", "url", "clicks"]));
    expect(body.components.schemas.CreateLink.additionalProperties).toBe(false);
  });
});
