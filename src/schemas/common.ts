import * as z from "./zod";
import { doc } from "../lib/openapi";
import { ApiError, errorStatus, type ErrorCode, type ErrorIssue } from "../errors";
import { EARLIEST_EVENT_MS, isBoundedJson, isStorableTime, MAX_AHEAD_MS } from "../lib/event-bounds";

export const ErrorSchema = doc(
  z.object({
    error: z.object({
      code: doc(z.enum(Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]]), {
        example: "invalid_request",
        description: "A closed set: new codes are a change of the contract",
      }),
      message: z.string(),
      issues: z.optional(
        z.array(
          z.object({
            path: z.array(z.union([z.string(), z.number()])),
            message: z.string(),
            code: z.optional(z.string()),
          }),
        ),
      ),
      requestId: z.string(),
    }),
  }),
  { id: "Error" },
);

const errorDescriptions = {
  400: "Invalid request; `issues` lists each field",
  401: "Missing or invalid credentials",
  403: "The API key lacks the required scope",
  404: "Not found",
  409: "Conflict (`conflict`), or a contact opted out (`opted_out`; `issues` names each one)",
  410: "Gone",
  413: "Body too large",
  415: "Unsupported content type",
  429: "Rate limited: too many requests for this key, client or visitor; `Retry-After` says when to try again",
} as const;

type ErrorStatus = keyof typeof errorDescriptions;

const retryAfterHeader = {
  "Retry-After": { description: "Seconds to wait before trying again", schema: { type: "integer" as const } },
};

/** Error responses of a route; one that authenticates (401) may also be rate limited (429). */
export function errorResponses(...statuses: ErrorStatus[]) {
  const all: ErrorStatus[] = statuses.includes(401) && !statuses.includes(429) ? [...statuses, 429] : statuses;
  return Object.fromEntries(
    all.map((status) => [
      status,
      {
        description: errorDescriptions[status],
        content: { "application/json": { schema: ErrorSchema } },
        ...(status === 429 ? { headers: retryAfterHeader } : {}),
      },
    ]),
  ) as Record<ErrorStatus, { description: string; content: { "application/json": { schema: typeof ErrorSchema } } }>;
}

export function jsonBody<T extends z.ZodMiniType>(schema: T) {
  return { body: { required: true, content: { "application/json": { schema } } } } as const;
}

export function jsonResponse<T extends z.ZodMiniType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}

/**
 * Text as given by a person or their system (names, ids): trimmed, 1 to `max` characters, without control
 * characters, which no such value holds and which would corrupt CSV exports and log lines.
 */
export function plainText(max: number) {
  return z
    .string()
    .check(
      z.trim(),
      z.minLength(1),
      z.maxLength(max),
      z.regex(/^[^\u0000-\u001f\u007f]*$/, "Control characters are not allowed"),
    );
}

export const isoDateTime = doc(z.iso.datetime({ offset: true }), { example: "2026-12-01T09:00:00Z" });

/**
 * When an event happened, as epoch milliseconds: every stored time lies between 2009-01-01 and
 * `maxAheadMs` after the request arrives (one day unless a stricter bound suits the event). The route
 * also refuses a time before the workspace's retention period (see retentionIssues).
 */
export function eventTime(maxAheadMs = MAX_AHEAD_MS) {
  const latest = maxAheadMs === MAX_AHEAD_MS ? "one day from now" : "now";
  return doc(
    z.pipe(
      isoDateTime,
      z.pipe(
        z.transform((value: string) => Date.parse(value)),
        z.number().check(
          z.refine((ms) => isStorableTime(ms, Date.now(), maxAheadMs), {
            message: `Must lie between ${new Date(EARLIEST_EVENT_MS).toISOString().slice(0, 10)} and ${latest}`,
          }),
        ),
      ),
    ),
    { description: "Not before the workspace's retention period: `settings.retentionDays` before the request" },
  );
}

/**
 * The issue of an event time before `earliest`, the start of the workspace's retention period (see
 * earliestRetainedTime), if it is.
 */
export function retentionIssues(ms: number | undefined, earliest: number, path: (string | number)[]): ErrorIssue[] {
  if (ms === undefined || ms >= earliest) return [];
  const start = new Date(earliest).toISOString();
  return [{ path, message: `Must not lie before ${start}, the start of the workspace's retention period` }];
}

/** JSON that is stored as it came (a status's errors or pricing): shallow and small enough for SQLite. */
export function boundedJson<T extends z.ZodMiniType>(schema: T) {
  return schema.check(z.refine((value) => isBoundedJson(value), "Nested too deep or too large to store"));
}

export const ListQuery = z.object({
  cursor: z.optional(z.string().check(z.maxLength(64))),
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(1000)), 50),
});

export const bearerSecurity = [{ apiKey: [] }];

/** Cursors are opaque to clients; inside they are the rowid of the last item returned. */
export function encodeCursor(rowid: number): string {
  return btoa(`r${rowid}`).replace(/=+$/, "");
}

export function decodeCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) return null;
  let decoded = "";
  try {
    decoded = atob(cursor);
  } catch {
    // fall through to the error below
  }
  const match = decoded.match(/^r(\d{1,15})$/);
  if (!match)
    throw new ApiError("invalid_request", "The cursor is not valid.", [
      { path: ["cursor"], message: "Not a cursor from this API" },
    ]);
  return Number(match[1]);
}

/** ISO 8601 of a stored time; a value no date can hold reads as null rather than failing the response. */
export function toIso(ms: number | null | undefined): string | null {
  if (typeof ms !== "number") return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Rows fetched with `limit + 1` become one page and the cursor to the next, or null at the end. */
export function toPage<T extends { rowid: number }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1].rowid) : null };
}
