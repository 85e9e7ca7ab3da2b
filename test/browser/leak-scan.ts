// Looks for values in clear in everything a run of the service left behind: every file under a directory, read
// as bytes (SQLite databases and their WAL files too, where deleted rows may linger in free pages), the rows of
// every SQLite database read back through SQLite (a value longer than a page's free room is split across
// overflow pages, where the bytes alone would miss it), and text such as a process's output.
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

/** Something read for the scan: a file's bytes, a database's rows or a process's output, as latin1 text. */
export interface Source {
  name: string;
  text: string;
}

export interface Needle {
  /** What the value is, for the report: "admin token", "phone +49… (digits only)". */
  label: string;
  value: string;
}

export interface Finding {
  label: string;
  source: string;
  /** The bytes around the occurrence, printable characters only. */
  context: string;
  /** The bytes just before it, as they are. */
  before: string;
}

export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** Each file as it is on disk. */
export async function readFiles(files: string[], root: string): Promise<Source[]> {
  return Promise.all(
    files.map(async (file) => ({ name: path.relative(root, file), text: (await readFile(file)).toString("latin1") })),
  );
}

function cellText(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString("latin1");
  return String(value);
}

/**
 * Every row of every table of a SQLite database, one line a row. The database is copied with its WAL first, so
 * that opening it (which applies the WAL) leaves the service's files as they were.
 */
export async function readDatabaseRows(file: string, root: string): Promise<{ source: Source; rows: number }> {
  const copyDir = await mkdtemp(path.join(os.tmpdir(), "chatfunnel-scan-"));
  try {
    const copy = path.join(copyDir, "db.sqlite");
    await copyFile(file, copy);
    await copyFile(`${file}-wal`, `${copy}-wal`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") throw err;
    });
    const db = new DatabaseSync(copy);
    try {
      const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[];
      const lines: string[] = [];
      for (const { name } of tables) {
        const quoted = `"${name.replaceAll('"', '""')}"`;
        for (const row of db.prepare(`SELECT * FROM ${quoted}`).all()) {
          lines.push(`${name}: ${Object.values(row).map(cellText).join(" | ")}`);
        }
      }
      return { source: { name: `${path.relative(root, file)} (rows)`, text: lines.join("\n") }, rows: lines.length };
    } finally {
      db.close();
    }
  } finally {
    await rm(copyDir, { recursive: true, force: true });
  }
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, "·");
}

/** Every place where a needle occurs. */
export function findValues(sources: Source[], needles: Needle[]): Finding[] {
  const findings: Finding[] = [];
  for (const needle of needles) {
    for (const source of sources) {
      for (let at = source.text.indexOf(needle.value); at >= 0; at = source.text.indexOf(needle.value, at + 1)) {
        const context = source.text.slice(Math.max(0, at - 60), at + needle.value.length + 60);
        const before = source.text.slice(Math.max(0, at - 100), at);
        findings.push({ label: needle.label, source: source.name, context: printable(context), before });
      }
    }
  }
  return findings;
}

/** How many findings each source has, one line a source. */
export function countBySource(findings: Finding[]): string {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.source, (counts.get(f.source) ?? 0) + 1);
  return [...counts].map(([source, n]) => `  ${n} × ${source}`).join("\n");
}

/** The findings for a failure message: each value once per source, with how often and its first context. */
export function describeFindings(findings: Finding[], max = 40): string {
  const groups = new Map<string, { first: Finding; n: number }>();
  for (const f of findings) {
    const key = `${f.label}\n${f.source}`;
    const group = groups.get(key);
    if (group) group.n++;
    else groups.set(key, { first: f, n: 1 });
  }
  const lines = [...groups.values()]
    .slice(0, max)
    .map(({ first, n }) => `  ${first.label} in ${first.source} (${n}×): …${first.context}…`);
  if (groups.size > max) lines.push(`  … and ${groups.size - max} more`);
  return lines.join("\n");
}

/**
 * The base64 text that `bytes` become inside a longer base64 string, for each of the three positions they can
 * start at within a 3-byte group: only the characters that depend on `bytes` alone.
 */
export function base64Forms(bytes: Buffer): string[] {
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes, Buffer.alloc(2)]).toString("base64");
    const first = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    return encoded.slice(first, end);
  });
}
