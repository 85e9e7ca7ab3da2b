import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { callJson, callWorker, createWorkspace, expectErrorEnvelope } from "./helpers";

describe("the error envelope", () => {
  it("carries the request id that the response header also carries", async () => {
    const res = await callJson("/api/v1/links", { headers: { "x-request-id": "req-from-client-1" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toBe("req-from-client-1");
    expect(res.body.error.requestId).toBe("req-from-client-1");
  });

  it("answers 404 in the envelope for an unknown API route", async () => {
    const res = await callJson("/api/v1/nothing-here");
    expect(res.status).toBe(404);
    expect(res.body).toEqual(expectErrorEnvelope("not_found"));
  });

  it("answers 413 for a body over the limit and writes nothing", async () => {
    const { adminKey } = await createWorkspace();
    const before = await env.DB.prepare("SELECT count(*) AS n FROM links").first<number>("n");
    const huge = JSON.stringify({ url: "https://a.example/", code: "x".repeat(11 * 1024 * 1024) });
    const res = await callJson("/api/v1/links", { key: adminKey, body: huge });
    expect(res.status).toBe(413);
    expect(res.body).toEqual(expectErrorEnvelope("payload_too_large"));
    expect(await env.DB.prepare("SELECT count(*) AS n FROM links").first<number>("n")).toBe(before);
  });

  it("answers 400 rather than 500 for a JSON body that is not an object", async () => {
    const { adminKey } = await createWorkspace();
    for (const body of ["[]", "null", '"text"', "42"]) {
      const res = await callWorker("/api/v1/links", {
        key: adminKey,
        body,
        headers: { "content-type": "application/json" },
      });
      expect(res.status, body).toBe(400);
    }
  });
});
