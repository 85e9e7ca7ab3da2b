import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callJson, createLink, createWorkspace, expectErrorEnvelope, issuePaths } from "./helpers";

// Every spelling of an address in a private network, as a link destination (SPEC §4).
const NON_PUBLIC = [
  "http://127.0.0.1/",
  "http://localhost:8080/",
  "http://LOCALHOST./admin",
  "http://shop.localhost/",
  "http://[::1]/",
  "http://[::]/",
  "http://169.254.169.254/latest/meta-data/",
  "http://metadata.google.internal/computeMetadata/v1/",
  "http://10.0.0.5/",
  "http://172.16.5.4/",
  "http://192.168.1.1/",
  "http://100.64.0.1/",
  "http://0.0.0.0/",
  "http://0x7f000001/",
  "http://2130706433/",
  "http://0177.0.0.1/",
  "http://127.1/",
  "http://0x7f.1/",
  "http://[::ffff:127.0.0.1]/",
  "http://[::ffff:a9fe:a9fe]/",
  "http://[64:ff9b::10.0.0.1]/",
  "http://[fe80::1]/",
  "http://[fd00::1]/",
];
const CONTROL = [
  "https://shop.example.com/a\u0000b",
  "https://shop.example.com/\r\nSet-Cookie: a=b",
  "https://shop.exa\tmple.com/",
];
const PUBLIC = [
  "https://shop.example.com/offer",
  "http://172.32.0.1/",
  "http://8.8.8.8/",
  "https://[2001:4860:4860::8888]/",
];

async function linkCount(workspaceId: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM links WHERE workspace_id = ?")
    .bind(workspaceId)
    .first<{ n: number }>();
  return row!.n;
}

describe("link destinations", () => {
  it.each([...NON_PUBLIC, ...CONTROL])("refuses %j with 400 naming url, and creates nothing", async (url) => {
    const { workspace, adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/links", { key: adminKey, body: { url } });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(expectErrorEnvelope("invalid_request"));
    expect(issuePaths(res.body)).toEqual([["url"]]);
    expect(await linkCount(workspace.id)).toBe(0);
  });

  it.each(PUBLIC)("accepts the public destination %s", async (url) => {
    const { adminKey } = await createWorkspace();
    expect((await callJson("/api/v1/links", { key: adminKey, body: { url } })).status).toBe(201);
  });

  it("refuses a private destination in a bulk request by index, creating none of the links", async () => {
    const { workspace, adminKey } = await createWorkspace();
    const campaign = (await callJson("/api/v1/campaigns", { key: adminKey, body: { name: "c" } })).body;
    const res = await callJson("/api/v1/links/bulk", {
      key: adminKey,
      body: {
        url: "https://shop.example.com/",
        campaignId: campaign.id,
        recipients: [
          { contact: "+14155550101" },
          { contact: "+14155550102", url: "http://10.1.2.3/" },
          { contact: "+14155550103", url: "http://0x7f000001/" },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(issuePaths(res.body)).toEqual([
      ["recipients", 1, "url"],
      ["recipients", 2, "url"],
    ]);
    expect(await linkCount(workspace.id)).toBe(0);
  });

  it("refuses to change a link's destination to a private address, leaving it as it was", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey);
    const res = await callJson(`/api/v1/links/${link.code}`, {
      method: "PATCH",
      key: adminKey,
      body: { url: "http://169.254.169.254/" },
    });
    expect(res.status).toBe(400);
    expect(issuePaths(res.body)).toEqual([["url"]]);
    expect((await callJson(`/api/v1/links/${link.code}`, { key: adminKey })).body.url).toBe(link.url);
  });
});
