import { describe, expect, it } from "vitest";
import { buildWorld, documentedKeyOperations, expectIsolated, expectScopeRefused, OPERATIONS } from "./isolation";

const cases = OPERATIONS.map((op) => [op.operation, op] as const);

describe("tenant isolation", () => {
  it("covers every operation that the OpenAPI document opens with an API key", async () => {
    expect(OPERATIONS.map((op) => op.operation).sort()).toEqual((await documentedKeyOperations()).sort());
  });

  it.each(cases)("%s with another workspace's key neither shows nor changes this workspace's data", async (_, op) => {
    const [owner, intruder] = await Promise.all([buildWorld(), buildWorld()]);
    await expectIsolated(op, owner, intruder);
  });

  it.each(cases)("%s with a key lacking its scope is refused with 403 and writes nothing", async (_, op) => {
    await expectScopeRefused(op, await buildWorld());
  });
});
