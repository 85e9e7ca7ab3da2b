// Bytes on disk per table (its rows and its indexes) of the local D1 database a bench serves, read with
// SQLite's dbstat through node:sqlite: D1 itself does not expose dbstat. The file is read while workerd
// has it open (WAL), which SQLite allows a reader to do.
import { readdir } from "node:fs/promises";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

/** The D1 database files under a bench's temp dir (Miniflare keeps each in a .sqlite file of its own). */
async function databaseFiles(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".sqlite") && e.parentPath.includes("D1DatabaseObject"))
    .map((e) => path.join(e.parentPath, e.name));
}

/** Bytes per table, indexes included, and the total, of the largest D1 database under `dir`. */
export async function tableBytes(dir) {
  const files = await databaseFiles(dir);
  let best = null;
  for (const file of files) {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      const owners = new Map(
        db
          .prepare("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")
          .all()
          .map((r) => [r.name, r.tbl_name]),
      );
      const tables = {};
      for (const { name, bytes } of db.prepare("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name").all()) {
        const table = owners.get(name) ?? name;
        tables[table] = (tables[table] ?? 0) + bytes;
      }
      const total = Object.values(tables).reduce((sum, n) => sum + n, 0);
      if (!best || total > best.total) best = { total, tables };
    } finally {
      db.close();
    }
  }
  return best ?? { total: 0, tables: {} };
}
