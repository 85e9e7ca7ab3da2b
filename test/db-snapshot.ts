import { env } from "cloudflare:test";
import { drainOutbox } from "../src/events/pipeline";
import { forwardToGa4 } from "../src/ga4/forward";
import { forwardToWebhooks } from "../src/webhooks/forward";

// Changed on every use of a key (at most once a minute): reading with a key is not writing data.
const IGNORED_COLUMNS: Record<string, string[]> = { api_keys: ["last_used_at"] };

type TableInfo = { name: string; columns: string[] };

let tables: Promise<TableInfo[]> | null = null;

/** The tables the migrations made, with their columns. */
function listTables(): Promise<TableInfo[]> {
  tables ??= (async () => {
    const { results } = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations' ORDER BY name",
    ).all<{ name: string }>();
    return Promise.all(
      results.map(async ({ name }) => {
        const info = await env.DB.prepare("SELECT name FROM pragma_table_info(?)").bind(name).all<{ name: string }>();
        return { name, columns: info.results.map((c) => c.name) };
      }),
    );
  })();
  return tables;
}

/**
 * Every row of every table, as sorted JSON per table; with `workspaceId`, only that workspace's rows (its
 * own row in `workspaces`, and the rows of tables with a `workspace_id`). Two equal snapshots mean that
 * nothing was inserted, changed or deleted in between. It is taken once the outbox's consumers (the
 * rollups, GA4 and webhooks) have read what is pending, so that what they derive in the background from earlier
 * writes is not mistaken for a change made by the request under test.
 */
export async function snapshotRows(workspaceId?: string): Promise<Record<string, string[]>> {
  await drainOutbox(env.DB);
  await forwardToGa4(env);
  await forwardToWebhooks(env);
  const snapshot: Record<string, string[]> = {};
  for (const { name, columns } of await listTables()) {
    const kept = columns.filter((c) => !IGNORED_COLUMNS[name]?.includes(c));
    let where = "";
    if (workspaceId !== undefined) {
      if (name === "workspaces") where = "WHERE id = ?1";
      else if (columns.includes("workspace_id")) where = "WHERE workspace_id = ?1";
      else continue;
    }
    const statement = env.DB.prepare(`SELECT ${kept.map((c) => `"${c}"`).join(", ")} FROM "${name}" ${where}`);
    const { results } = await (where ? statement.bind(workspaceId) : statement).all();
    snapshot[name] = results.map((row) => JSON.stringify(row)).sort();
  }
  return snapshot;
}
