/**
 * Gathers items from concurrent requests in this isolate so that one D1 batch carries many of them:
 * under load, N clicks in flight cost one write instead of N, and D1 (a single writer) keeps up.
 *
 * Each request waits only on promises of its own: the request that finds no write in flight writes
 * the open batch itself, and the others poll until their batch is settled. Awaiting a promise that
 * another request created would tie them together, and the Workers runtime cancels such waits when
 * the creating request ends. Should a writer vanish mid-write, the waiters write their own items
 * after a timeout, which is why items must be safe to write twice.
 *
 * A failed batch never decides another request's fate: when a batch of several items fails, each
 * request writes its own item again, alone, and only an item that fails on its own is rejected.
 */
type Batch<T> = { items: T[]; state: "open" | "writing" | "written" | "failed"; error?: unknown };

export type CoalescerOptions = { maxItems: number; pollMs: number; staleAfterMs: number };

export class WriteCoalescer<T> {
  private open: Batch<T> | null = null;
  private writingSince: number | null = null;

  constructor(private readonly options: CoalescerOptions) {}

  /** Resolves once `item` is written (by this request or another), rejects with its own write's error. */
  async add(item: T, write: (items: T[]) => Promise<void>): Promise<void> {
    const batch = this.open ?? (this.open = { items: [], state: "open" });
    batch.items.push(item);
    if (batch.items.length >= this.options.maxItems) this.open = null;
    const giveUpAt = Date.now() + this.options.staleAfterMs;

    while (batch.state === "open" || batch.state === "writing") {
      if (batch.state === "open" && !this.isWriting()) {
        await this.writeBatch(batch, write);
        break;
      }
      if (Date.now() > giveUpAt) return write([item]);
      await scheduler.wait(this.options.pollMs);
    }
    if (batch.state === "failed") {
      if (batch.items.length === 1) throw batch.error;
      await write([item]);
    }
  }

  private isWriting(): boolean {
    return this.writingSince !== null && Date.now() - this.writingSince < this.options.staleAfterMs;
  }

  private async writeBatch(batch: Batch<T>, write: (items: T[]) => Promise<void>): Promise<void> {
    if (this.open === batch) this.open = null;
    batch.state = "writing";
    const startedAt = (this.writingSince = Date.now());
    try {
      await write(batch.items);
      batch.state = "written";
    } catch (err) {
      batch.state = "failed";
      batch.error = err;
    } finally {
      if (this.writingSince === startedAt) this.writingSince = null;
    }
  }
}
