// The SQL cost of storing statuses, without the Worker around it: applies migrations/ to SQLite (node:sqlite)
// and times the statuses upsert (src/db/messages.ts) over 100,000 wamids, each sent, delivered and read, in
// statements of 500 statuses, one transaction each, with random wamids and contacts as Meta's are. Run twice:
// in memory, and on a file with WAL and SQLite's default 2 MB page cache, which is closer to D1, where writes
// to indexes keyed by random values (contacts, wamids) cost a page each.
// Run: npm run bench:sql (about a minute).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { UPSERT_STATUSES_SQL } from "../src/db/messages.ts";

const MESSAGES = 100_000;
const CHUNK = 500;
const migrations = new URL("../migrations/", import.meta.url);

/** A 32-bit hash of n, as hex: wamids and contact hashes in no particular order. */
const hash = (n, salt) => (Math.imul(n ^ salt, 2654435761) >>> 0).toString(16).padStart(8, "0");

function run(file) {
  const db = new DatabaseSync(file ?? ":memory:");
  if (file) db.exec("PRAGMA journal_mode = WAL");
  for (const name of readdirSync(migrations)
    .filter((n) => n.endsWith(".sql"))
    .sort()) {
    db.exec(readFileSync(new URL(name, migrations), "utf8"));
  }
  const upsert = db.prepare(UPSERT_STATUSES_SQL);
  const started = performance.now();
  for (const [offset, status] of ["sent", "delivered", "read"].entries()) {
    for (let i = 0; i < MESSAGES; i += CHUNK) {
      const rows = Array.from({ length: CHUNK }, (_, j) => ({
        workspaceId: "ws_bench",
        messageId: `wamid.HBgL${hash(i + j, 1)}${i + j}FQIAERgSNUUzRjk0MDNFNjdBQzE0RkE2AA`,
        status,
        at: 1_790_000_000_000 + (i + j) * 1000 + offset * 60_000,
        contactHash: hash(i + j, 2).repeat(8),
        country: "DE",
        bizOpaque: null,
        errors: null,
        pricing: { billable: true, pricing_model: "PMP", type: "regular", category: "marketing" },
      }));
      db.exec("BEGIN");
      upsert.run(JSON.stringify(rows), Date.now());
      db.exec("COMMIT");
    }
  }
  const ms = performance.now() - started;
  db.close();
  return ((ms * 1000) / (3 * MESSAGES)).toFixed(1);
}

const dir = mkdtempSync(path.join(os.tmpdir(), "chatfunnel-sql-"));
try {
  console.log(`statuses upsert, ${3 * MESSAGES} statuses of ${MESSAGES} wamids, ${CHUNK} per statement:`);
  console.log(`  in memory:                  ${run()} µs/status`);
  console.log(`  file, WAL, 2 MB page cache: ${run(path.join(dir, "bench.sqlite"))} µs/status`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
