import { eq } from "drizzle-orm";
import type { Db } from "./client";
import { pageByRowid } from "./pages";
import { deadLetters, type DeadLetterKind } from "./schema";

export type DeadLetter = { workspaceId: string | null; kind: DeadLetterKind; reason: string; payload: unknown };

// An event is already bounded when it is dead-lettered; these keep a row small whatever it carries.
const MAX_PAYLOAD_CHARS = 65_536;
const MAX_REASON_CHARS = 500;
// D1 allows 100 bound parameters per statement: 6 columns a row.
const ROWS_PER_INSERT = 16;

export async function insertDeadLetters(db: Db, letters: DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  const now = Date.now();
  const rows = letters.map((letter) => ({
    id: `dlq_${crypto.randomUUID().replaceAll("-", "")}`,
    workspaceId: letter.workspaceId,
    kind: letter.kind,
    reason: letter.reason.slice(0, MAX_REASON_CHARS),
    payload: (JSON.stringify(letter.payload) ?? "null").slice(0, MAX_PAYLOAD_CHARS),
    createdAt: now,
  }));
  const inserts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    inserts.push(db.insert(deadLetters).values(rows.slice(i, i + ROWS_PER_INSERT)));
  }
  await db.batch(inserts as [(typeof inserts)[number], ...typeof inserts]);
}

export function listDeadLetters(db: Db, workspaceId: string, query: { cursor?: string; limit: number }) {
  return pageByRowid(db, deadLetters, eq(deadLetters.workspaceId, workspaceId), query);
}
