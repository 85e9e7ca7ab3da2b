import { describe, expect, it } from "vitest";
import { buildRedirectUrl, normalizeDestination } from "../src/lib/destination";

describe("normalizeDestination", () => {
  it.each([
    ["HTTPS://Shop.Example.COM:443/a/./b/../c?x=1#frag", "https://shop.example.com/a/c?x=1#frag"],
    ["http://shop.example.com", "http://shop.example.com/"],
    ["https://bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"],
    ["  https://shop.example.com/x  ", "https://shop.example.com/x"],
  ])("normalises %s", (input, expected) => {
    expect(normalizeDestination(input)).toEqual({ ok: true, url: expected });
  });

  it.each([
    "javascript:alert(1)",
    "data:text/html,x",
    "//shop.example.com/x",
    "https://u:p@shop.example.com/",
    "file:///etc/passwd",
    "",
  ])("refuses %s", (input) => {
    expect(normalizeDestination(input).ok).toBe(false);
  });

  it.each([
    ["Cyrillic а among Latin letters", "https://аpple.com/login"],
    ["Greek ο among Latin letters", "https://gοοgle.com/"],
    ["Cyrillic look-alikes only, under .com", "https://аррӏе.com/"],
    ["the same, written as Punycode", "https://xn--80ak6aa92e.com/"],
    ["a mixed label below a real domain", "https://pаypal.example.com/"],
    ["a label that is not valid Punycode", "https://xn--a.com/"],
  ])("refuses a host that imitates another: %s", (_, input) => {
    expect(normalizeDestination(input)).toEqual({ ok: false, reason: expect.stringContaining("look-alike") });
  });

  it.each([
    ["https://münchen.de/", "https://xn--mnchen-3ya.de/"],
    ["https://пример.рф/", "https://xn--e1afmkfd.xn--p1ai/"],
    ["https://παράδειγμα.gr/", "https://xn--hxajbheg2az3al.gr/"],
    ["https://例え.jp/", "https://xn--r8jz45g.jp/"],
    ["https://my_shop.example.com/", "https://my_shop.example.com/"],
  ])("keeps the real internationalised host %s", (input, expected) => {
    expect(normalizeDestination(input)).toEqual({ ok: true, url: expected });
  });
});

describe("buildRedirectUrl", () => {
  const base = { utm: null, requestQuery: new URLSearchParams(), clickIdParam: "wa_cid", clickId: "C1" };

  it("appends without re-encoding the destination's own query", () => {
    expect(buildRedirectUrl({ ...base, destination: "https://s.example/p?q=a%20b&x=1+2" })).toBe(
      "https://s.example/p?q=a%20b&x=1+2&wa_cid=C1",
    );
  });

  it("keeps the fragment after the query", () => {
    expect(buildRedirectUrl({ ...base, destination: "https://s.example/p#top" })).toBe(
      "https://s.example/p?wa_cid=C1#top",
    );
  });

  it("lets the link's UTM tags replace the destination's, and forwards only the visitor's parameters neither has", () => {
    const url = new URL(
      buildRedirectUrl({
        ...base,
        destination: "https://s.example/p?utm_source=old&keep=1",
        utm: { source: "whatsapp", campaign: "spring" },
        requestQuery: new URLSearchParams("utm_campaign=story&utm_source=evil&keep=2&tag=a&tag=b&utm_medium=chat"),
      }),
    );
    expect([...url.searchParams]).toEqual([
      ["keep", "1"],
      ["utm_source", "whatsapp"],
      ["utm_campaign", "spring"],
      ["tag", "a"],
      ["tag", "b"],
      ["utm_medium", "chat"],
      ["wa_cid", "C1"],
    ]);
  });

  it("keeps every parameter the destination has, whatever the visitor sends", () => {
    expect(
      buildRedirectUrl({
        ...base,
        destination: "https://shop.example.com/landing?x=1&x=3",
        requestQuery: new URLSearchParams("x=2&y=4"),
      }),
    ).toBe("https://shop.example.com/landing?x=1&x=3&y=4&wa_cid=C1");
  });

  it("never takes the click id from the visitor", () => {
    const url = new URL(
      buildRedirectUrl({
        ...base,
        destination: "https://s.example/?wa_cid=old",
        requestQuery: new URLSearchParams("wa_cid=forged"),
      }),
    );
    expect(url.searchParams.getAll("wa_cid")).toEqual(["C1"]);
  });

  it("returns the destination untouched when there is nothing to add", () => {
    expect(buildRedirectUrl({ ...base, clickId: null, destination: "https://s.example/p?q=1" })).toBe(
      "https://s.example/p?q=1",
    );
  });
});
