import { describe, expect, it } from "vitest";
import { TtlCache } from "../src/lib/ttl-cache";

describe("TtlCache", () => {
  it("tells a cached null (a remembered miss) from nothing cached", () => {
    const cache = new TtlCache<string | null>(60_000, 10);
    cache.set("missing", null);
    expect(cache.get("missing")).toBeNull();
    expect(cache.get("never-set")).toBeUndefined();
  });

  it("forgets an entry once its TTL has passed", () => {
    const cache = new TtlCache<string>(60_000, 10);
    cache.set("short", "x", 0);
    cache.set("long", "y");
    expect(cache.get("short")).toBeUndefined();
    expect(cache.get("long")).toBe("y");
  });

  it("drops the oldest entry past its size", () => {
    const cache = new TtlCache<number>(60_000, 2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("c", 3);
    expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([undefined, 2, 3]);
  });

  it("forgets every entry whose value matches", () => {
    const cache = new TtlCache<{ workspaceId: string }>(60_000, 10);
    cache.set("one", { workspaceId: "ws_a" });
    cache.set("two", { workspaceId: "ws_b" });
    cache.set("three", { workspaceId: "ws_a" });
    cache.deleteWhere((value) => value.workspaceId === "ws_a");
    expect([cache.get("one"), cache.get("two"), cache.get("three")]).toEqual([
      undefined,
      { workspaceId: "ws_b" },
      undefined,
    ]);
  });
});
