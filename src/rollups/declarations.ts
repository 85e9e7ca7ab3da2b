/**
 * Every rollup the reports read, declared once. From these declarations come the rollup tables
 * (`npm run db:rollups` writes their migration; a test checks the database against them), the SQL
 * that applies changes to them in batches (src/db/pipeline.ts), and the constants the report queries
 * use (windows, grains, columns).
 *
 * A rollup sums measures over rows of one feed, per grain (a UTC time bucket size) and key. Measures
 * and keys are SQL expressions over the feed's row, named `f`. Keys listed in a grain's `blank` are
 * stored as '' in that grain, so that its rows do not multiply with them.
 *
 * To add a report dimension: add a key here (and, for messages, the fact it reads to MESSAGE_FACTS),
 * run `npm run db:rollups -- <migration name> <table>`, and read the new column in src/db/reports/.
 *
 * This module is pure data: scripts import it with Node's type stripping, so it imports nothing.
 */

export const QUARTER_MS = 900_000;
export const DAY_MS = 86_400_000;

/** Windows for "clicked / converted within `window` of being sent": the columns the message rollups keep. */
export const WINDOWS = ["1h", "6h", "1d", "3d", "7d", "14d", "30d"] as const;
export type RollupWindow = (typeof WINDOWS)[number];
export const WINDOW_MS: Record<RollupWindow, number> = {
  "1h": 3_600_000,
  "6h": 21_600_000,
  "1d": DAY_MS,
  "3d": 3 * DAY_MS,
  "7d": 7 * DAY_MS,
  "14d": 14 * DAY_MS,
  "30d": 30 * DAY_MS,
};

/** Dimensions of a click (and of the conversion attributed to it) that click rollups break down by. */
export const CLICK_DIMENSIONS = ["", "country", "device", "os", "browser", "referrer", "link"] as const;
export type ClickDimension = (typeof CLICK_DIMENSIONS)[number];

export type ColumnType = "text" | "integer";
export type Column = { name: string; type: ColumnType; expr: string };
export type Grain = { name: string; sizeMs: number; blank?: readonly string[] };

/**
 * Where a rollup's rows come from:
 * - `messages`: the facts of each message (MESSAGE_FACTS), applied as the difference between what
 *   was last applied and what is true now, so that a message may change any number of times;
 * - `inbound`: inbound messages, whose response time the pipeline places, applied the same way;
 * - `clicks`, `conversions`, `contact_events`: rows that never change, added once when recorded.
 */
export type Feed = "messages" | "inbound" | "clicks" | "conversions" | "contact_events";

export type RollupSource = {
  feed: Feed;
  /** The event time that places the row in a bucket. */
  time: string;
  /** Extra tables joined to the feed row `f` (a conversion's click, a click's link). */
  joins?: string;
  /** Rows of the feed that count (`f.` columns). */
  where?: string;
  /** One feed row becomes one rollup row per value of this key (a click per dimension, a message per step). */
  fanOut?: { name: string; values: Record<string, { expr?: string; where?: string }> };
  keys: Record<string, string>;
  measures: Record<string, string>;
};

export type Rollup = {
  table: string;
  grains: readonly Grain[];
  /** The primary key, in order; `workspace_id`, `grain` and `bucket` are implied columns. */
  primaryKey: readonly string[];
  keys: readonly { name: string; type: ColumnType }[];
  measures: readonly string[];
  sources: readonly RollupSource[];
};

/**
 * What the message rollups know of a message, computed from its row (`m`). The pipeline keeps a
 * snapshot of these per message (message_rollup_applied), the facts last added to the rollups.
 */
export const MESSAGE_FACTS: readonly Column[] = [
  { name: "contact_hash", type: "text", expr: "m.contact_hash" },
  // Not a rollup key: what the message was linked through, so that a new link gathers its clicks afresh.
  { name: "link_code", type: "text", expr: "m.link_code" },
  { name: "report_at", type: "integer", expr: "m.report_at" },
  { name: "campaign_id", type: "text", expr: "COALESCE(m.campaign_id, '')" },
  { name: "variant", type: "text", expr: "COALESCE(m.variant, '')" },
  { name: "country", type: "text", expr: "COALESCE(m.country, '')" },
  { name: "device", type: "text", expr: "COALESCE(m.device, '')" },
  { name: "category", type: "text", expr: "COALESCE(m.category, json_extract(m.pricing, '$.category'), '')" },
  { name: "sent_at", type: "integer", expr: "m.sent_at" },
  { name: "delivered_at", type: "integer", expr: "m.delivered_at" },
  { name: "read_at", type: "integer", expr: "m.read_at" },
  { name: "failed_at", type: "integer", expr: "m.failed_at" },
  // A conversion through the message's link implies its click, even when the click was not seen.
  {
    name: "engaged_at",
    type: "integer",
    expr: "COALESCE(MIN(m.clicked_at, m.converted_at), m.clicked_at, m.converted_at)",
  },
  { name: "converted_at", type: "integer", expr: "m.converted_at" },
  { name: "replied_at", type: "integer", expr: "m.replied_at" },
  { name: "revenue_micros", type: "integer", expr: "m.revenue_micros" },
  // 1 for a message sent to a WhatsApp group: no recipient of its own (SPEC §7), so the per-recipient
  // rollups leave it out, and message_rollups keeps it under its own key for a funnel by category.
  { name: "is_group", type: "integer", expr: "m.is_group" },
  // The first error code of the failed status (131049 limited, 130472 experiment: src/lib/whatsapp-errors.ts).
  {
    name: "error_code",
    type: "integer",
    expr: "CASE WHEN json_valid(m.errors) THEN CAST(json_extract(m.errors, '$[0].code') AS INTEGER) END",
  },
  // Meta charges a message whose pricing `type` is `regular` (`billable` is deprecated), at the rate of
  // the category it priced the message in: Meta's category comes first here, unlike the `category` key.
  { name: "charged", type: "integer", expr: "COALESCE(json_extract(m.pricing, '$.type') = 'regular', 0)" },
  {
    name: "pricing_category",
    type: "text",
    expr: "COALESCE(json_extract(m.pricing, '$.category'), m.category, '')",
  },
  // The currency of the message's revenue when its conversions agree on one (src/db/pipeline.ts).
  { name: "revenue_currency", type: "text", expr: "m.revenue_currency" },
];

const within = (column: string, window: RollupWindow) =>
  `f.${column} IS NOT NULL AND f.${column} - f.report_at <= ${WINDOW_MS[window]}`;

const windowMeasures = (prefix: string, column: string) =>
  Object.fromEntries(WINDOWS.map((w) => [`${prefix}_${w}`, within(column, w)]));

// A failed status followed by delivered or read counts as delivered.
const FAILED = "f.failed_at IS NOT NULL AND f.delivered_at IS NULL AND f.read_at IS NULL AND f.engaged_at IS NULL";

const messageMeasures: Record<string, string> = {
  sent: "1",
  sent_inferred: "f.sent_at IS NULL",
  delivered: "f.delivered_at IS NOT NULL OR f.read_at IS NOT NULL OR f.engaged_at IS NOT NULL",
  delivered_inferred: "f.delivered_at IS NULL AND (f.read_at IS NOT NULL OR f.engaged_at IS NOT NULL)",
  read: "f.read_at IS NOT NULL OR f.engaged_at IS NOT NULL",
  read_inferred: "f.read_at IS NULL AND f.engaged_at IS NOT NULL",
  failed: FAILED,
  // Failures that are outcomes of their own (SPEC §7), counted among `failed` too.
  limited: `${FAILED} AND f.error_code IS 131049`,
  experiment: `${FAILED} AND f.error_code IS 130472`,
  clicked: "f.engaged_at IS NOT NULL",
  ...windowMeasures("clicked", "engaged_at"),
  converted: "f.converted_at IS NOT NULL",
  ...windowMeasures("converted", "converted_at"),
  replied: "f.replied_at IS NOT NULL",
  charged: "f.charged",
  revenue_micros: "f.revenue_micros",
};

/** Click delays on a log scale: bucket b holds delays in (1.1^(b-1), 1.1^b] seconds; 0 a second or less. */
const delayBucket = (at: string) =>
  `CASE WHEN ${at} - f.report_at <= 1000 THEN 0 ELSE CAST(ceil(ln((${at} - f.report_at) / 1000.0) / ln(1.1)) AS INTEGER) END`;

/**
 * Reply delays in whole hours: bucket h holds delays in (h-1, h] hours, 0 a reply at or before the
 * send, and MAX_REPLY_HOURS + 1 anything later. "Replied within N hours" is then exactly the sum of
 * buckets 0..N for every whole-hour window a report may ask (responseWindow), where fixed window
 * columns would serve only the windows chosen here and the click delays' log scale only estimates.
 * Replies come mostly within a day, so a message adds one row to a small set of buckets.
 */
export const MAX_REPLY_HOURS = 720;
const replyHours = `MIN(${MAX_REPLY_HOURS + 1}, CASE WHEN f.replied_at - f.report_at <= 0 THEN 0
  ELSE (f.replied_at - f.report_at + 3599999) / 3600000 END)`;

const clickKey: Record<ClickDimension, string> = {
  "": "''",
  country: "c.country",
  device: "c.device_type",
  os: "c.os",
  browser: "c.browser",
  referrer: "c.referrer_host",
  link: "l.code",
};

/** UTC quarter hours ('q') and days ('d'): a report reads whole days from 'd' and the edges from 'q'. */
const QUARTERS_AND_DAYS: readonly Grain[] = [
  { name: "q", sizeMs: QUARTER_MS },
  { name: "d", sizeMs: DAY_MS },
];

/** A click, and a conversion by its click, count once per dimension: its key in that dimension. */
const clickRollupKeys = {
  dimension: "x.name",
  campaign_id: "COALESCE(f.campaign_id, '')",
  variant: "COALESCE(f.variant, '')",
  key: "COALESCE(x.expr, '')",
};

export const ROLLUPS = {
  /**
   * Messages by the time reports place them at (report_at), per UTC quarter hour ('q') and day
   * ('d'); 't' keeps quarter hours by campaign and variant only, for time series. A report over
   * [from, to) reads whole days from 'd' and the edges from 'q'; every time zone's offset is a
   * multiple of 15 minutes, so local days and weeks are exact too.
   */
  messages: {
    table: "message_rollups",
    grains: [
      { name: "q", sizeMs: QUARTER_MS },
      { name: "d", sizeMs: DAY_MS },
      { name: "t", sizeMs: QUARTER_MS, blank: ["country", "device", "category"] },
    ],
    primaryKey: [
      "workspace_id",
      "grain",
      "bucket",
      "campaign_id",
      "variant",
      "country",
      "device",
      "category",
      "is_group",
    ],
    keys: [
      { name: "campaign_id", type: "text" },
      { name: "variant", type: "text" },
      { name: "country", type: "text" },
      { name: "device", type: "text" },
      { name: "category", type: "text" },
      { name: "is_group", type: "integer" },
    ],
    measures: Object.keys(messageMeasures),
    sources: [
      {
        feed: "messages",
        time: "f.report_at",
        where: "f.report_at IS NOT NULL",
        keys: {
          campaign_id: "f.campaign_id",
          variant: "f.variant",
          country: "f.country",
          device: "f.device",
          category: "f.category",
          is_group: "COALESCE(f.is_group, 0)",
        },
        measures: messageMeasures,
      },
    ],
  },
  /** How long messages took to be clicked and to convert, for medians within 5 %. */
  delays: {
    table: "message_delays",
    grains: QUARTERS_AND_DAYS,
    primaryKey: ["workspace_id", "grain", "bucket", "campaign_id", "variant", "step", "delay_bucket"],
    keys: [
      { name: "campaign_id", type: "text" },
      { name: "variant", type: "text" },
      { name: "step", type: "text" },
      { name: "delay_bucket", type: "integer" },
    ],
    measures: ["messages"],
    sources: [
      {
        feed: "messages",
        time: "f.report_at",
        where: "f.report_at IS NOT NULL AND NOT COALESCE(f.is_group, 0)",
        fanOut: {
          name: "step",
          values: {
            click: { expr: delayBucket("f.engaged_at"), where: "f.engaged_at IS NOT NULL" },
            convert: { expr: delayBucket("f.converted_at"), where: "f.converted_at IS NOT NULL" },
          },
        },
        keys: { campaign_id: "f.campaign_id", variant: "f.variant", step: "x.name", delay_bucket: "x.expr" },
        measures: { messages: "1" },
      },
    ],
  },
  /** Messages replied to, by how many whole hours after the send the first reply came (replyHours). */
  replies: {
    table: "message_reply_delays",
    grains: QUARTERS_AND_DAYS,
    primaryKey: ["workspace_id", "grain", "bucket", "campaign_id", "variant", "reply_hours"],
    keys: [
      { name: "campaign_id", type: "text" },
      { name: "variant", type: "text" },
      { name: "reply_hours", type: "integer" },
    ],
    measures: ["messages"],
    sources: [
      {
        feed: "messages",
        time: "f.report_at",
        where: "f.report_at IS NOT NULL AND NOT COALESCE(f.is_group, 0) AND f.replied_at IS NOT NULL",
        keys: { campaign_id: "f.campaign_id", variant: "f.variant", reply_hours: replyHours },
        measures: { messages: "1" },
      },
    ],
  },
  /**
   * Charged messages by Meta's pricing category and the recipient's country: what a rate card prices
   * (src/reports/cost.ts). Only charged messages have rows.
   */
  charges: {
    table: "message_charges",
    grains: QUARTERS_AND_DAYS,
    primaryKey: ["workspace_id", "grain", "bucket", "campaign_id", "variant", "pricing_category", "country"],
    keys: [
      { name: "campaign_id", type: "text" },
      { name: "variant", type: "text" },
      { name: "pricing_category", type: "text" },
      { name: "country", type: "text" },
    ],
    measures: ["charged"],
    sources: [
      {
        feed: "messages",
        time: "f.report_at",
        where: "f.report_at IS NOT NULL AND NOT COALESCE(f.is_group, 0) AND f.charged",
        keys: {
          campaign_id: "f.campaign_id",
          variant: "f.variant",
          pricing_category: "f.pricing_category",
          country: "f.country",
        },
        measures: { charged: "1" },
      },
    ],
  },
  /**
   * Revenue of messages by its currency, for a return on ad spend in the rate card's currency. A
   * message whose conversions carry more than one currency has no single one and is not here.
   */
  revenue: {
    table: "message_revenue",
    grains: QUARTERS_AND_DAYS,
    primaryKey: ["workspace_id", "grain", "bucket", "campaign_id", "variant", "currency"],
    keys: [
      { name: "campaign_id", type: "text" },
      { name: "variant", type: "text" },
      { name: "currency", type: "text" },
    ],
    measures: ["revenue_micros"],
    sources: [
      {
        feed: "messages",
        time: "f.report_at",
        where: "f.report_at IS NOT NULL AND NOT COALESCE(f.is_group, 0) AND f.revenue_currency IS NOT NULL",
        keys: { campaign_id: "f.campaign_id", variant: "f.variant", currency: "f.revenue_currency" },
        measures: { revenue_micros: "f.revenue_micros" },
      },
    ],
  },
  /** Human clicks, and conversions by the click they are attributed to, per click dimension. */
  clicks: {
    table: "click_rollups",
    grains: QUARTERS_AND_DAYS,
    primaryKey: ["workspace_id", "grain", "dimension", "bucket", "campaign_id", "variant", "key"],
    keys: [
      { name: "dimension", type: "text" },
      { name: "campaign_id", type: "text" },
      { name: "variant", type: "text" },
      { name: "key", type: "text" },
    ],
    measures: ["clicks", "unique_clicks", "conversions", "revenue_micros"],
    sources: [
      {
        feed: "clicks",
        time: "f.occurred_at",
        joins: "LEFT JOIN links l ON l.id = f.link_id",
        where: "f.kind = 'click'",
        fanOut: {
          name: "dimension",
          values: Object.fromEntries(CLICK_DIMENSIONS.map((d) => [d, { expr: clickKey[d].replace(/^c\./, "f.") }])),
        },
        keys: clickRollupKeys,
        measures: { clicks: "1", unique_clicks: "f.is_unique <> 0" },
      },
      {
        feed: "conversions",
        time: "f.occurred_at",
        joins: "LEFT JOIN clicks c ON c.id = f.click_id",
        fanOut: {
          name: "dimension",
          values: Object.fromEntries(
            CLICK_DIMENSIONS.map((d) => [d, { expr: d === "link" ? "f.link_code" : clickKey[d] }]),
          ),
        },
        keys: clickRollupKeys,
        measures: { conversions: "1", revenue_micros: "CAST(ROUND(COALESCE(f.value, 0) * 1000000) AS INTEGER)" },
      },
    ],
  },
  /** Events reported through the events API, per type. */
  contactEvents: {
    table: "contact_event_rollups",
    grains: QUARTERS_AND_DAYS,
    primaryKey: ["workspace_id", "grain", "bucket", "campaign_id", "type"],
    keys: [
      { name: "campaign_id", type: "text" },
      { name: "type", type: "text" },
    ],
    measures: ["events", "value_micros"],
    sources: [
      {
        feed: "contact_events",
        time: "f.occurred_at",
        keys: { campaign_id: "COALESCE(f.campaign_id, '')", type: "f.type" },
        measures: { events: "1", value_micros: "CAST(ROUND(COALESCE(f.value, 0) * 1000000) AS INTEGER)" },
      },
    ],
  },
  /** Inbound messages, and those the business answered (a later message to the contact), with how fast. */
  inbound: {
    table: "inbound_rollups",
    grains: QUARTERS_AND_DAYS,
    primaryKey: ["workspace_id", "grain", "bucket"],
    keys: [],
    measures: ["inbound", "responded", "response_ms"],
    sources: [
      {
        feed: "inbound",
        time: "f.occurred_at",
        keys: {},
        measures: {
          inbound: "1",
          responded: "f.responded_at IS NOT NULL",
          response_ms: "COALESCE(f.responded_at - f.occurred_at, 0)",
        },
      },
    ],
  },
} as const satisfies Record<string, Rollup>;
