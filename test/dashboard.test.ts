import { describe, expect, it } from "vitest";
import { callJson, callWorker, createLink, createWorkspace } from "./helpers";

function expectSecurityHeaders(res: Response) {
  const csp = res.headers.get("content-security-policy") ?? "";
  const directives = Object.fromEntries(
    csp.split(";").map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name, values.join(" ")];
    }),
  );
  expect(directives).toMatchObject({
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "form-action": "'none'",
  });
  expect(csp).not.toContain("unsafe-inline");
  expect(csp).not.toContain("unsafe-eval");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
}

/** The script and style sheet URLs the page names. */
function assetUrls(html: string) {
  return {
    script: html.match(/<script src="([^"]+)"/)![1],
    styles: html.match(/<link rel="stylesheet" href="([^"]+)"/)![1],
  };
}

describe("GET /dashboard", () => {
  it("answers the page, not the redirect's 'Link not found', with the security headers", async () => {
    const res = await callWorker("/dashboard", { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html; charset=utf-8/i);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expectSecurityHeaders(res);
    const html = await res.text();
    expect(html).toContain('<input id="api-key"');
    expect(html).toContain('type="password"');
    // Nothing inline for the CSP to refuse: no inline scripts, no style elements or attributes, no handlers.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const { script, styles } = assetUrls(html);
    expect(script).toMatch(/^\/dashboard\/dashboard\.js\?v=[0-9a-f]{16}$/);
    expect(styles).toMatch(/^\/dashboard\/dashboard\.css\?v=[0-9a-f]{16}$/);
  });

  it("is never taken for a short code, also when asked for JSON", async () => {
    const res = await callWorker("/dashboard", { headers: { accept: "application/json" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  });

  it("leaves the redirect of other codes alone", async () => {
    const { adminKey } = await createWorkspace();
    const link = await createLink(adminKey, { url: "https://shop.example.com/" });
    const res = await callWorker(`/${link.code}`);
    expect(res.status).toBe(302);
  });

  it("is a reserved code for links", async () => {
    const { adminKey } = await createWorkspace();
    const res = await callJson("/api/v1/links", {
      key: adminKey,
      body: { url: "https://shop.example.com/", code: "dashboard" },
    });
    expect(res.status).toBe(400);
  });
});

describe("GET /dashboard/dashboard.js and .css", () => {
  it("serves the versioned assets with their types, cached for a year, and the security headers", async () => {
    const { script, styles } = assetUrls(await (await callWorker("/dashboard")).text());
    for (const [url, type] of [
      [script, /^application\/javascript; charset=utf-8$/],
      [styles, /^text\/css; charset=utf-8$/],
    ] as const) {
      const res = await callWorker(url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get("content-type")).toMatch(type);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("etag")).toBe(`"${new URL(url, "https://x").searchParams.get("v")}"`);
      expectSecurityHeaders(res);
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
  });

  it("keeps an unversioned or outdated URL only briefly, and answers 304 to the version the browser has", async () => {
    const { script } = assetUrls(await (await callWorker("/dashboard")).text());
    const plain = await callWorker("/dashboard/dashboard.js?v=0000000000000000");
    expect(plain.status).toBe(200);
    expect(plain.headers.get("cache-control")).toBe("public, max-age=300");
    const etag = plain.headers.get("etag")!;
    const again = await callWorker(script, { headers: { "if-none-match": `W/${etag}` } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expectSecurityHeaders(again);
  });

  it("writes API data as text only, and keeps the key out of URLs and cookies", async () => {
    const source = await (await callWorker("/dashboard/dashboard.js")).text();
    expect(source).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(source).not.toMatch(/document\.cookie|localStorage/);
    expect(source).toContain("sessionStorage");
    expect(source).toContain("authorization: `Bearer ${key}`");
  });

  it("sends /dashboard/ to the page", async () => {
    const res = await callWorker("/dashboard/");
    expect(res.status).toBe(308);
    expect(new URL(res.headers.get("location")!, "https://x.example").pathname).toBe("/dashboard");
  });

  it("answers 404 to other paths under /dashboard", async () => {
    const res = await callJson("/dashboard/other.js");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
  });
});
