import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { hashContact } from "../src/lib/contact";
import { callJson, createCampaign, createWorkspace, expectErrorEnvelope, issuePaths } from "./helpers";

async function count(table: string): Promise<number> {
  return (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<number>("n"))!;
}

describe("settings.defaultCountry", () => {
  it("is unset by default, and is set and cleared with PATCH /api/v1/workspace", async () => {
    const { workspace, adminKey } = await createWorkspace();
    expect(workspace.settings.defaultCountry).toBeNull();
    const set = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: adminKey,
      body: { settings: { defaultCountry: "DE" } },
    });
    expect(set.status).toBe(200);
    expect(set.body.settings.defaultCountry).toBe("DE");
    expect((await callJson("/api/v1/workspace", { key: adminKey })).body.settings.defaultCountry).toBe("DE");
    const cleared = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: adminKey,
      body: { settings: { defaultCountry: null } },
    });
    expect(cleared.body.settings.defaultCountry).toBeNull();
  });

  it.each(["de", "DEU", "Germany", "XX", "", 49])("refuses %j with 400 and keeps the setting", async (value) => {
    const { adminKey } = await createWorkspace({ defaultCountry: "PT" });
    const res = await callJson("/api/v1/workspace", {
      method: "PATCH",
      key: adminKey,
      body: { settings: { defaultCountry: value } },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toEqual([["settings", "defaultCountry"]]);
    expect((await callJson("/api/v1/workspace", { key: adminKey })).body.settings.defaultCountry).toBe("PT");
  });

  it("is described in the OpenAPI document", async () => {
    const { body } = await callJson("/api/v1/openapi.json");
    expect(body.components.schemas.WorkspaceSettingsInput.properties.defaultCountry).toBeDefined();
    expect(body.components.schemas.WorkspaceSettings.properties.defaultCountry).toBeDefined();
  });
});

describe("national phone numbers", () => {
  it("are read in the workspace's defaultCountry, hashing as the international form does", async () => {
    const { adminKey } = await createWorkspace({ defaultCountry: "DE" });
    const res = await callJson("/api/v1/links", {
      key: adminKey,
      body: { url: "https://shop.example.com/", contact: "0151 99887766" },
    });
    expect(res.status).toBe(201);
    const stored = await env.DB.prepare("SELECT contact_hash FROM links WHERE id = ?")
      .bind(res.body.id)
      .first<string>("contact_hash");
    expect(stored).toBe(await hashContact(env.PII_PEPPER, "+4915199887766"));
  });

  it("are read the same way in bulk links, registered messages, conversions and events", async () => {
    const { adminKey } = await createWorkspace({ defaultCountry: "US" });
    const campaign = await createCampaign(adminKey);
    const contact = "(650) 555-1234";
    const requests: [string, unknown][] = [
      ["/api/v1/links/bulk", { url: "https://shop.example.com/", campaignId: campaign.id, recipients: [{ contact }] }],
      ["/api/v1/messages", { messages: [{ id: `wamid.${crypto.randomUUID()}`, contact }] }],
      ["/api/v1/conversions", { event: "lead", contact }],
      ["/api/v1/events", { events: [{ type: "escalated", contact }] }],
    ];
    for (const [path, body] of requests) {
      const res = await callJson(path, { key: adminKey, body });
      expect(res.status, path).toBeLessThan(300);
    }
    const hash = await hashContact(env.PII_PEPPER, "+16505551234");
    for (const table of ["links", "messages", "conversions", "contact_events"]) {
      const n = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE contact_hash = ?`)
        .bind(hash)
        .first<number>("n");
      expect(n, table).toBe(1);
    }
  });

  it.each([
    ["/api/v1/links", { url: "https://shop.example.com/", contact: "0151 99887766" }, ["contact"], "links"],
    ["/api/v1/conversions", { event: "lead", contact: "0151 99887766" }, ["contact"], "conversions"],
    [
      "/api/v1/messages",
      {
        messages: [
          { id: "wamid.ok", contact: "+4915199887766" },
          { id: "wamid.national", contact: "0151 99887766" },
        ],
      },
      ["messages", 1, "contact"],
      "messages",
    ],
    [
      "/api/v1/events",
      { events: [{ type: "escalated", contact: "0151 99887766" }] },
      ["events", 0, "contact"],
      "contact_events",
    ],
  ])("without defaultCountry, %s answers 400 naming the field and writes nothing", async (path, body, field, table) => {
    const { adminKey } = await createWorkspace();
    const before = await count(table);
    const res = await callJson(path, { key: adminKey, body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(res.body.error.issues).toEqual([
      expect.objectContaining({ path: field, message: expect.stringContaining("defaultCountry") }),
    ]);
    expect(await count(table)).toBe(before);
  });

  it("in bulk, lists every recipient whose number cannot be read and creates no link", async () => {
    const { adminKey } = await createWorkspace();
    const campaign = await createCampaign(adminKey);
    const before = await count("links");
    const res = await callJson("/api/v1/links/bulk", {
      key: adminKey,
      body: {
        url: "https://shop.example.com/",
        campaignId: campaign.id,
        recipients: [{ contact: "+4915199887766" }, { contact: "0151 99887766" }, { contact: "030 1234567" }],
      },
    });
    expect(res.status).toBe(400);
    expect(issuePaths(res.body)).toEqual([
      ["recipients", 1, "contact"],
      ["recipients", 2, "contact"],
    ]);
    expect(await count("links")).toBe(before);
  });

  it("answers 400 for a national number that is not a number in the default country", async () => {
    const { adminKey } = await createWorkspace({ defaultCountry: "DE" });
    const res = await callJson("/api/v1/links", {
      key: adminKey,
      body: { url: "https://shop.example.com/", contact: "0 12" },
    });
    expect(res.status).toBe(400);
    expect(issuePaths(res.body)).toEqual([["contact"]]);
  });
});
