import { describe, expect, it } from "vitest";
import { callJson, createApiKey, createCampaign, createWorkspace, expectErrorEnvelope } from "./helpers";

describe("POST /api/v1/campaigns", () => {
  it("creates a campaign with variants and a template name", async () => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/campaigns", {
      key: adminKey,
      body: { name: "Black Friday", variants: ["A", "B"], template: "bf_offer_v2" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^cmp_/),
      name: "Black Friday",
      variants: ["A", "B"],
      template: "bf_offer_v2",
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  it.each([
    ["duplicate variants", { name: "x", variants: ["A", "A"] }, ["variants"]],
    ["an empty variant name", { name: "x", variants: [""] }, ["variants", 0]],
    ["no name", { variants: ["A"] }, ["name"]],
    ["a NUL in the name", { name: "Black\u0000Friday" }, ["name"]],
    ["a line break in a variant", { name: "x", variants: ["A\nB"] }, ["variants", 0]],
    ["an escape character in the template", { name: "x", template: "bf\u001b[31m" }, ["template"]],
  ])("answers 400 for %s", async (_, body, path) => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/campaigns", { key: adminKey, body });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(res.body.error.issues.map((i: { path: unknown[] }) => i.path)).toContainEqual(path);
  });

  it("needs links:write", async () => {
    const { adminKey } = await createWorkspace();
    const key = await createApiKey(adminKey, ["reports:read"]);
    expect((await callJson("/api/v1/campaigns", { key, body: { name: "x" } })).status).toBe(403);
  });
});

describe("GET /api/v1/campaigns", () => {
  it("pages through the workspace's campaigns only, newest first", async () => {
    const { adminKey } = await createWorkspace();
    const other = await createWorkspace();
    const foreign = await createCampaign(other.adminKey, { name: "Theirs" });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await createCampaign(adminKey, { name: `C${i}` })).id);
    const reader = await createApiKey(adminKey, ["reports:read"]);

    const first = await callJson("/api/v1/campaigns?limit=2", { key: reader });
    expect(first.status).toBe(200);
    expect(first.body.campaigns.map((c: { id: string }) => c.id)).toEqual([ids[2], ids[1]]);
    const second = await callJson(`/api/v1/campaigns?limit=2&cursor=${first.body.nextCursor}`, { key: reader });
    expect(second.body).toEqual({ campaigns: [expect.objectContaining({ id: ids[0] })], nextCursor: null });

    expect((await callJson(`/api/v1/campaigns/${ids[0]}`, { key: reader })).body.name).toBe("C0");
    const hidden = await callJson(`/api/v1/campaigns/${foreign.id}`, { key: reader });
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(expectErrorEnvelope("not_found"));
  });

  it("answers 400 for a limit out of range", async () => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/campaigns?limit=5000", { key: adminKey });
    expect(res.status).toBe(400);
    expect(res.body.error.issues[0].path).toEqual(["limit"]);
  });
});
