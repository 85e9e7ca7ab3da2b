import {
  clearMovedFrom,
  copyChunk,
  copyWorkspaceRow,
  countRows,
  deleteChunk,
  deleteWorkspaceRow,
  DIRECTORY_BINDING,
  markMoving,
  OUTBOX_TABLE,
  outboxSettled,
  readPlacement,
  switchPlacement,
  workspaceTables,
  type CopyCursor,
  type WorkspaceTable,
} from "../db/placement";
import { drainOutbox } from "../events/pipeline";
import { forwardToGa4 } from "../ga4/forward";
import { forwardToWebhooks } from "../webhooks/forward";
import { boundDatabase, forgetPlacement } from "./databases";

/**
 * Moves a workspace's rows to another D1 database (docs/scaling.md, "Past one database"):
 *
 * 1. mark the move in the placement (`moving_to`); the workspace is still read from where it is;
 * 2. have every consumer of the outbox apply the workspace's entries there, so that its rollups, GA4
 *    events and webhook deliveries are current and are copied as rows (the outbox itself is not copied);
 * 3. copy every table's rows of the workspace, in key order, a chunk per batch;
 * 4. check that every table holds as many of its rows in the target as in the source;
 * 5. switch the placement to the target, remembering the source (`moved_from`);
 * 6. delete the workspace's rows from the source, a chunk at a time, then clear `moved_from`.
 *
 * Every step can be run again: the copy sets rows already copied to the source's values, and a run that
 * finds `moved_from` set finishes the deletion first. Writes to the workspace during a move are not held
 * back (request paths still write to `DB`): the move is for a workspace whose writers are stopped, and
 * the count check (step 4) stops a move whose source grew during the copy, before anything switches.
 */

/** Rows per batch: each row is one statement with its columns bound, well under D1's limits. */
const CHUNK_ROWS = 100;

export class UnknownDatabase extends Error {
  constructor(binding: string) {
    super(`${binding} is not a D1 binding that can hold workspaces`);
  }
}

export class MoveInProgress extends Error {
  constructor(workspaceId: string, to: string) {
    super(`Workspace ${workspaceId} is already moving to ${to}`);
  }
}

/** The outbox still has entries of the workspace that a consumer (GA4, webhooks) has not applied: run again later. */
export class OutboxNotSettled extends Error {
  constructor(workspaceId: string) {
    super(`The outbox of workspace ${workspaceId} is not applied by every consumer yet`);
  }
}

export type CountMismatch = { table: string; source: number; target: number };

export class CopyMismatch extends Error {
  constructor(readonly mismatches: CountMismatch[]) {
    super(
      `The copy differs from the source: ${mismatches.map((m) => `${m.table} ${m.source} → ${m.target}`).join(", ")}`,
    );
  }
}

export type MoveResult = { from: string; to: string; copied: number; deleted: number };

function database(env: Env, binding: string): D1Database {
  const d1 = boundDatabase(env, binding);
  if (!d1) throw new UnknownDatabase(binding);
  return d1;
}

/** The bindings with `DB` standing for another database: the outbox's consumers read and write `env.DB`. */
const withDatabase = (env: Env, d1: D1Database): Env => ({ ...env, DB: d1 });

export async function moveWorkspace(
  env: Env,
  workspaceId: string,
  to: string,
  { chunkRows = CHUNK_ROWS }: { chunkRows?: number } = {},
): Promise<MoveResult> {
  const target = database(env, to);
  let placement = await readPlacement(env.DB, workspaceId);
  let deleted = 0;
  if (placement.movedFrom) {
    // An earlier move switched but did not finish deleting what it left behind.
    deleted += await deleteLeftBehind(env, workspaceId, placement.movedFrom, chunkRows);
    placement = await readPlacement(env.DB, workspaceId);
  }
  const from = placement.binding;
  if (placement.movingTo && placement.movingTo !== to) throw new MoveInProgress(workspaceId, placement.movingTo);
  if (from === to) return { from, to, copied: 0, deleted };
  const source = database(env, from);
  if (!(await markMoving(env.DB, workspaceId, from, to))) {
    throw new MoveInProgress(workspaceId, (await readPlacement(env.DB, workspaceId)).movingTo ?? to);
  }
  forgetPlacement(workspaceId);

  await settleOutbox(env, source, workspaceId);
  const { copied } = await copyWorkspace(source, target, workspaceId, { chunkRows });
  await verifyCopy(source, target, workspaceId);

  if (!(await switchPlacement(env.DB, workspaceId, from, to))) {
    throw new MoveInProgress(workspaceId, (await readPlacement(env.DB, workspaceId)).movingTo ?? to);
  }
  forgetPlacement(workspaceId);
  deleted += await deleteLeftBehind(env, workspaceId, from, chunkRows);
  return { from, to, copied, deleted };
}

/**
 * Has the outbox's consumers apply everything pending in the source database (the rollups first, then GA4
 * and webhooks, as a queue wake does), and checks that none has left an entry of the workspace behind.
 */
export async function settleOutbox(env: Env, source: D1Database, workspaceId: string): Promise<void> {
  const sourceEnv = withDatabase(env, source);
  // Within the consumer's usual budget: a database far behind leaves entries, and the move is run again later.
  await drainOutbox(source);
  await forwardToGa4(sourceEnv);
  await forwardToWebhooks(sourceEnv);
  if (!(await outboxSettled(source, workspaceId))) throw new OutboxNotSettled(workspaceId);
}

export type CopyLimits = {
  /** Rows per batch. */
  chunkRows?: number;
  /** Stops after this many chunks, wherever the copy is: a copy interrupted half way, for tests. */
  maxChunks?: number;
};

/** Copies the workspace's rows, table by table; answers how many rows it wrote and whether it got to the end. */
export async function copyWorkspace(
  source: D1Database,
  target: D1Database,
  workspaceId: string,
  { chunkRows = CHUNK_ROWS, maxChunks = Infinity }: CopyLimits = {},
): Promise<{ copied: number; complete: boolean }> {
  await copyWorkspaceRow(source, target, workspaceId);
  let copied = 0;
  let chunks = 0;
  for (const table of await copiedTables(source)) {
    let cursor: CopyCursor = null;
    for (;;) {
      if (chunks >= maxChunks) return { copied, complete: false };
      const chunk = await copyChunk(source, target, table, workspaceId, cursor, chunkRows);
      chunks++;
      copied += chunk.copied;
      cursor = chunk.cursor;
      if (chunk.copied < chunkRows) break;
    }
  }
  return { copied, complete: true };
}

/** The workspace's row counts per copied table, in the source and the target. */
export async function compareCounts(
  source: D1Database,
  target: D1Database,
  workspaceId: string,
): Promise<CountMismatch[]> {
  const counts = await Promise.all(
    (await copiedTables(source)).map(async (table) => ({
      table: table.name,
      source: await countRows(source, table, workspaceId),
      target: await countRows(target, table, workspaceId),
    })),
  );
  return counts;
}

async function verifyCopy(source: D1Database, target: D1Database, workspaceId: string): Promise<void> {
  const mismatches = (await compareCounts(source, target, workspaceId)).filter((c) => c.source !== c.target);
  if (mismatches.length > 0) throw new CopyMismatch(mismatches);
}

async function copiedTables(d1: D1Database): Promise<WorkspaceTable[]> {
  return (await workspaceTables(d1)).filter((t) => t.name !== OUTBOX_TABLE);
}

/**
 * Deletes the workspace's rows from the database it moved from, the tables in the reverse of the copy's
 * order (so no foreign key is left pointing at a deleted row), its outbox entries too; its own row goes as
 * well unless that database is the directory. Then the move is over.
 */
async function deleteLeftBehind(env: Env, workspaceId: string, binding: string, chunkRows: number): Promise<number> {
  const d1 = database(env, binding);
  let deleted = 0;
  for (const table of (await workspaceTables(d1)).reverse()) {
    for (;;) {
      const n = await deleteChunk(d1, table, workspaceId, chunkRows);
      deleted += n;
      if (n < chunkRows) break;
    }
  }
  if (binding !== DIRECTORY_BINDING) await deleteWorkspaceRow(d1, workspaceId);
  await clearMovedFrom(env.DB, workspaceId);
  forgetPlacement(workspaceId);
  return deleted;
}
