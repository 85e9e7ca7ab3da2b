import { describe, expect, it } from "vitest";
import { WriteCoalescer } from "../src/lib/write-coalescer";

function recorder(delayMs = 5) {
  const writes: number[][] = [];
  const write = async (items: number[]) => {
    writes.push([...items]);
    await scheduler.wait(delayMs);
  };
  return { writes, write };
}

describe("WriteCoalescer", () => {
  it("writes a lone item at once, in a batch of one", async () => {
    const coalescer = new WriteCoalescer<number>({ maxItems: 10, pollMs: 1, staleAfterMs: 1000 });
    const { writes, write } = recorder();
    await coalescer.add(1, write);
    expect(writes).toEqual([[1]]);
  });

  it("gathers items that arrive while a write is in flight into the next batch", async () => {
    const coalescer = new WriteCoalescer<number>({ maxItems: 10, pollMs: 1, staleAfterMs: 1000 });
    const { writes, write } = recorder();
    await Promise.all(Array.from({ length: 25 }, (_, i) => coalescer.add(i, write)));
    expect(writes[0]).toEqual([0]);
    expect(writes.slice(1).map((w) => w.length)).toEqual([10, 10, 4]);
    expect(writes.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it("rejects every caller of a failed batch, and later batches start afresh", async () => {
    const coalescer = new WriteCoalescer<number>({ maxItems: 10, pollMs: 1, staleAfterMs: 1000 });
    let fail = true;
    const write = async () => {
      await scheduler.wait(2);
      if (fail) throw new Error("D1 is down");
    };
    const results = await Promise.allSettled([1, 2, 3].map((i) => coalescer.add(i, write)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    fail = false;
    await expect(coalescer.add(4, write)).resolves.toBeUndefined();
  });

  it("writes each item of a failed batch alone, so one bad item fails only its own caller", async () => {
    const coalescer = new WriteCoalescer<number>({ maxItems: 10, pollMs: 1, staleAfterMs: 1000 });
    const written: number[] = [];
    const write = async (items: number[]) => {
      await scheduler.wait(2);
      if (items.includes(13)) throw new Error("malformed JSON");
      written.push(...items);
    };
    const results = await Promise.allSettled([1, 2, 13, 4, 5].map((i) => coalescer.add(i, write)));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect((results[2] as PromiseRejectedResult).reason).toEqual(new Error("malformed JSON"));
    expect(written.sort((a, b) => a - b)).toEqual([1, 2, 4, 5]);
  });

  it("writes an item itself when the batch's writer never finishes", async () => {
    const coalescer = new WriteCoalescer<number>({ maxItems: 10, pollMs: 1, staleAfterMs: 30 });
    const written: number[][] = [];
    const hang = () => new Promise<void>(() => {});
    void coalescer.add(1, hang);
    await coalescer.add(2, async (items) => void written.push(items));
    expect(written).toEqual([[2]]);
  });
});
