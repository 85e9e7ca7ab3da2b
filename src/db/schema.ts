import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { AUDIENCE_AT_SQL, AUDIENCE_STAGE_SQL } from "./audience-stages";

// Times are stored as epoch milliseconds (UTC) so that range scans and rollups compare integers.

export type WorkspaceSettings = {
  clickIdParam: string;
  attributionWindowDays: number;
  clickDedupSeconds: number;
  allowedOrigins: string[];
  retentionDays: number;
  /** The reporting time zone: retention in it is kept rolled up on its wall clock. */
  timezone: string;
  /** ISO 3166-1 alpha-2: national phone numbers are read in it; null refuses them. */
  defaultCountry: string | null;
  ga4MeasurementId: string | null;
  /** The consent every GA4 request carries unless a conversion brings its own (absent: both denied). */
  ga4Consent?: Ga4Consent;
  /** Marks forwarded events for GA4's DebugView. */
  ga4DebugMode?: boolean;
  /** What the workspace pays Meta per charged message, for report costs (absent or null: no costs). */
  rateCard?: RateCard | null;
};

/** Prices per charged message by Meta's pricing category, optionally for one recipient country. */
export type RateCard = {
  /** ISO 4217. */
  currency: string;
  /** `price` is the decimal as given, in `currency`; `country` ISO 3166-1 alpha-2 or null for every country. */
  rates: { category: string; country: string | null; price: string }[];
};

/** Consent for Google's use of the data GA4 receives, as the workspace or a conversion states it. */
export type Ga4Consent = { adUserData: "granted" | "denied"; adPersonalization: "granted" | "denied" };

/** Third-party secrets, stored only as one AES-GCM blob keyed by DATA_KEY. */
export type WorkspaceSecrets = {
  whatsappAppSecret?: string;
  whatsappVerifyToken?: string;
  ga4ApiSecret?: string;
};

export type ApiScope = "links:write" | "events:write" | "reports:read" | "admin";

export type Utm = Partial<Record<"source" | "medium" | "campaign" | "content" | "term", string>>;

export const workspaces = sqliteTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  publishableKey: text("publishable_key").notNull().unique(),
  settings: text("settings", { mode: "json" }).$type<WorkspaceSettings>().notNull(),
  secrets: text("secrets"),
  createdAt: integer("created_at").notNull(),
});
export type WorkspaceRow = typeof workspaces.$inferSelect;

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    name: text("name").notNull(),
    scopes: text("scopes", { mode: "json" }).$type<ApiScope[]>().notNull(),
    // SHA-256 of the key: the key itself is shown once and never stored.
    keyHash: text("key_hash").notNull().unique(),
    hint: text("hint").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("api_keys_workspace").on(t.workspaceId)],
);
export type ApiKeyRow = typeof apiKeys.$inferSelect;

export const campaigns = sqliteTable(
  "campaigns",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    name: text("name").notNull(),
    variants: text("variants", { mode: "json" }).$type<string[]>().notNull(),
    template: text("template"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("campaigns_workspace").on(t.workspaceId)],
);
export type CampaignRow = typeof campaigns.$inferSelect;

export const links = sqliteTable(
  "links",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id),
    // Codes are global: the redirect is `GET /:code` with no workspace in the path.
    code: text("code").notNull(),
    url: text("url").notNull(),
    campaignId: text("campaign_id").references(() => campaigns.id),
    variant: text("variant"),
    contactHash: text("contact_hash"),
    messageId: text("message_id"),
    externalId: text("external_id"),
    utm: text("utm", { mode: "json" }).$type<Utm>(),
    expiresAt: integer("expires_at"),
    disabledAt: integer("disabled_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    // Live counters, kept by triggers on `clicks` so that a replayed insert cannot count twice.
    clicks: integer("clicks").notNull().default(0),
    uniqueClicks: integer("unique_clicks").notNull().default(0),
    previews: integer("previews").notNull().default(0),
    bots: integer("bots").notNull().default(0),
    conversions: integer("conversions").notNull().default(0),
    revenue: real("revenue").notNull().default(0),
  },
  (t) => [
    uniqueIndex("links_code").on(t.code),
    // Listing pages walk these indexes by rowid (SQLite appends it to every index entry).
    index("links_workspace").on(t.workspaceId),
    index("links_campaign").on(t.campaignId),
    index("links_message").on(t.workspaceId, t.messageId),
    // A recipient's own links, for erasure.
    index("links_contact")
      .on(t.workspaceId, t.contactHash)
      .where(sql`contact_hash IS NOT NULL`),
  ],
);
export type LinkRow = typeof links.$inferSelect;

export type ClickKind = "click" | "preview" | "bot";

export const clicks = sqliteTable(
  "clicks",
  {
    // The click id handed to the destination as `?<clickIdParam>=`.
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    linkId: text("link_id").notNull(),
    campaignId: text("campaign_id"),
    variant: text("variant"),
    messageId: text("message_id"),
    contactHash: text("contact_hash"),
    kind: text("kind").$type<ClickKind>().notNull(),
    isUnique: integer("is_unique", { mode: "boolean" }).notNull().default(false),
    // HMAC of (ip, user agent) under a salt that rotates daily; the IP itself is never stored.
    visitorHash: text("visitor_hash"),
    occurredAt: integer("occurred_at").notNull(),
    country: text("country"),
    deviceType: text("device_type"),
    os: text("os"),
    browser: text("browser"),
    referrerHost: text("referrer_host"),
    userAgent: text("user_agent"),
  },
  (t) => [
    index("clicks_dedup").on(t.linkId, t.visitorHash, t.occurredAt),
    index("clicks_message")
      .on(t.workspaceId, t.messageId, t.occurredAt)
      .where(sql`message_id IS NOT NULL`),
    index("clicks_workspace_time").on(t.workspaceId, t.occurredAt),
    index("clicks_contact")
      .on(t.contactHash, t.occurredAt)
      .where(sql`contact_hash IS NOT NULL`),
  ],
);
export type ClickRow = typeof clicks.$inferSelect;

/**
 * One sent WhatsApp message (a `wamid`) and what is known of it. A row appears on registration or
 * on the first status for its wamid, whichever comes first; the other joins it later. Each status
 * column holds the earliest time that status was observed, so the state is the same in any order
 * of arrival and a repeated delivery changes nothing. Reached-but-unobserved steps are inferred
 * when the state is read.
 */
export const messages = sqliteTable(
  "messages",
  {
    workspaceId: text("workspace_id").notNull(),
    id: text("id").notNull(),
    contactHash: text("contact_hash"),
    campaignId: text("campaign_id"),
    variant: text("variant"),
    linkCode: text("link_code"),
    category: text("category"),
    externalId: text("external_id"),
    bizOpaque: text("biz_opaque"),
    registeredAt: integer("registered_at"),
    sentAt: integer("sent_at"),
    deliveredAt: integer("delivered_at"),
    readAt: integer("read_at"),
    failedAt: integer("failed_at"),
    errors: text("errors", { mode: "json" }).$type<unknown[]>(),
    pricing: text("pricing", { mode: "json" }).$type<Record<string, unknown>>(),
    // For each of pricing's fields, when the status it was taken from happened (see pricingOrder in
    // src/db/messages.ts): each field keeps the value of the latest status that carried it, in any order.
    pricingAt: text("pricing_at", { mode: "json" }).$type<Record<string, number>>(),
    // 1 for a message sent to a group (`recipient_type: group`): it has no one recipient, and stays out
    // of the per-recipient funnel.
    isGroup: integer("is_group").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    // What reports need of the message: the recipient's country (from the number), and, kept by the
    // outbox's rollup consumer (src/db/pipeline.ts) as clicks, conversions and replies arrive in any
    // order, the device of the first human click, the first click, conversion and reply that belong
    // to the message, and its revenue.
    country: text("country"),
    device: text("device"),
    clickedAt: integer("clicked_at"),
    convertedAt: integer("converted_at"),
    revenueMicros: integer("revenue_micros").notNull().default(0),
    // The currency of that revenue when the message's conversions agree on one, else null.
    revenueCurrency: text("revenue_currency"),
    repliedAt: integer("replied_at"),
    // The time reports place the message at: its earliest observed step (a failed message was still sent).
    reportAt: integer("report_at").generatedAlwaysAs(
      sql`NULLIF(MIN(COALESCE(sent_at, 9e15), COALESCE(delivered_at, 9e15), COALESCE(read_at, 9e15), COALESCE(failed_at, 9e15), COALESCE(clicked_at, 9e15)), 9e15)`,
      { mode: "virtual" },
    ),
    // The audience the message is in (src/db/audience-stages.ts), and since when.
    audienceStage: integer("audience_stage").generatedAlwaysAs(sql.raw(AUDIENCE_STAGE_SQL), { mode: "virtual" }),
    audienceAt: integer("audience_at").generatedAlwaysAs(sql.raw(AUDIENCE_AT_SQL), { mode: "virtual" }),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.id] }),
    // A click on a recipient's own link finds that recipient's messages; a click on a campaign-wide
    // link (no contact) must find none without reading every message that carries the link. Only
    // messages with a link are in it: a status of any other message writes no entry.
    index("messages_link")
      .on(t.workspaceId, t.linkCode, t.contactHash)
      .where(sql`${t.linkCode} IS NOT NULL`),
    // A campaign's audience a page at a time, in the order its messages reached the stage (entries end
    // in the rowid, the tie-breaker). Stages are exclusive, so a message has at most one entry, and a
    // status moves it from one stage's range to the next: one entry deleted and one written, the cost
    // of five partial indexes (one per stage) in one.
    index("messages_audience")
      .on(t.workspaceId, t.campaignId, t.audienceStage, t.audienceAt)
      .where(sql`${t.audienceStage} IS NOT NULL AND ${t.campaignId} IS NOT NULL`),
  ],
);

/**
 * Each contact's messages in the order reports place them (kept by the rollup consumer, from what it
 * has applied): replies without a context belong to the contact's latest message before them. Ties
 * in time are ordered by id, so that a contact's messages sent in the same second (a broadcast's
 * timestamps have whole seconds) are walked in key order instead of sorted. Kept apart from
 * `messages` so that a status never writes to an index keyed by contact, which is random.
 */
export const messageContacts = sqliteTable(
  "message_contacts",
  {
    workspaceId: text("workspace_id").notNull(),
    contactHash: text("contact_hash").notNull(),
    reportAt: integer("report_at").notNull(),
    messageId: text("message_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.contactHash, t.reportAt, t.messageId] })],
);
export type MessageRow = typeof messages.$inferSelect;

/**
 * A WhatsApp business-scoped user id (`user.…`) known to belong to a phone number: a webhook named both
 * for one user. Contacts are stored under the phone number's hash; events that name only the user id
 * are written under it too once the pair is known (src/db/messages.ts). Hashes only, like every contact.
 */
export const contactAliases = sqliteTable(
  "contact_aliases",
  {
    workspaceId: text("workspace_id").notNull(),
    aliasHash: text("alias_hash").notNull(),
    contactHash: text("contact_hash").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.aliasHash] }),
    // Erasing a contact erases the user ids known to be its.
    index("contact_aliases_contact").on(t.workspaceId, t.contactHash),
  ],
);

/** Messages from contacts to the business: replies (with `contextId`), button taps, reactions. */
export const inboundMessages = sqliteTable(
  "inbound_messages",
  {
    workspaceId: text("workspace_id").notNull(),
    id: text("id").notNull(),
    contactHash: text("contact_hash"),
    // The wamid of the business message this one replies to, when WhatsApp says so.
    contextId: text("context_id"),
    type: text("type").notNull(),
    occurredAt: integer("occurred_at").notNull(),
    receivedAt: integer("received_at").notNull(),
    // The business's next message to this contact after this one (kept by the rollup consumer), for response times.
    respondedAt: integer("responded_at"),
    // Whether the row is in the inbound rollups (the consumer moves it there, and again when respondedAt moves).
    counted: integer("counted").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.id] }),
    index("inbound_context").on(t.workspaceId, t.contextId),
    index("inbound_contact_time").on(t.workspaceId, t.contactHash, t.occurredAt),
    // The daily purge deletes by workspace and time; entries are appended in time order, so cheap to keep.
    index("inbound_workspace_time").on(t.workspaceId, t.occurredAt),
  ],
);
export type InboundMessageRow = typeof inboundMessages.$inferSelect;

export type ConversionSource = "api" | "beacon" | "pixel";

/**
 * A conversion (purchase, lead, custom event), attributed to the human click it followed, if any.
 * Money is kept in minor units of its currency so sums stay exact.
 */
export const conversions = sqliteTable(
  "conversions",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    event: text("event").notNull(),
    orderId: text("order_id"),
    // The decimal as given, and the same amount in minor units (cents) for exact sums.
    value: real("value"),
    valueMinor: integer("value_minor"),
    currency: text("currency"),
    source: text("source").$type<ConversionSource>().notNull(),
    clickId: text("click_id"),
    linkId: text("link_id"),
    linkCode: text("link_code"),
    campaignId: text("campaign_id"),
    variant: text("variant"),
    messageId: text("message_id"),
    contactHash: text("contact_hash"),
    gaClientId: text("ga_client_id"),
    // The GA session the site was in (from its _ga_<stream> cookie), digits only.
    gaSessionId: text("ga_session_id"),
    // The conversion's own consent for GA4 (`granted` / `denied`), when it stated one.
    adUserData: text("ad_user_data").$type<"granted" | "denied">(),
    adPersonalization: text("ad_personalization").$type<"granted" | "denied">(),
    occurredAt: integer("occurred_at").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [
    // Idempotency of (event, orderId) is the database's job: two identical requests at the same moment
    // cannot both insert, where a check-then-insert in code could.
    uniqueIndex("conversions_order")
      .on(t.workspaceId, t.event, t.orderId)
      .where(sql`order_id IS NOT NULL`),
    index("conversions_workspace_time").on(t.workspaceId, t.occurredAt),
    index("conversions_message")
      .on(t.workspaceId, t.messageId)
      .where(sql`message_id IS NOT NULL`),
    index("conversions_click")
      .on(t.clickId)
      .where(sql`click_id IS NOT NULL`),
    index("conversions_contact")
      .on(t.workspaceId, t.contactHash)
      .where(sql`contact_hash IS NOT NULL`),
  ],
);
export type ConversionRow = typeof conversions.$inferSelect;

/** CSAT answers and chatbot outcomes (bot_resolved, escalated, agent_resolved) or custom events. */
export const contactEvents = sqliteTable(
  "contact_events",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    type: text("type").notNull(),
    contactHash: text("contact_hash").notNull(),
    campaignId: text("campaign_id"),
    value: real("value"),
    occurredAt: integer("occurred_at").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  // By workspace and time, for the daily purge (reports read the rollups, never this table); by contact, for erasure.
  (t) => [
    index("contact_events_workspace_time").on(t.workspaceId, t.occurredAt),
    index("contact_events_contact").on(t.workspaceId, t.contactHash),
  ],
);

/**
 * A contact's consent records: opt-ins and opt-outs given through the API, and those WhatsApp reports
 * (a `user_preferences` webhook, or a message that failed with error 131050). Append-only: what holds
 * is the latest record, by time and then by insertion (`seq`).
 */
export const consents = sqliteTable(
  "consents",
  {
    // The order of insertion: of two records with the same time, the later one holds.
    seq: integer("seq").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    contactHash: text("contact_hash").notNull(),
    optedIn: integer("opted_in", { mode: "boolean" }).notNull(),
    // `whatsapp` (an opt-out of marketing messages), or where else the business recorded it (`api`, `website`, …).
    source: text("source").notNull(),
    occurredAt: integer("occurred_at").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [
    // Meta delivers a webhook again until it is acknowledged: the same record twice is one record. The
    // index also finds a contact's records in time order.
    uniqueIndex("consents_record").on(t.workspaceId, t.contactHash, t.occurredAt, t.optedIn, t.source),
    // Opt-outs of a time range, for the metrics report: few, and read without touching the table.
    index("consents_opt_outs")
      .on(t.workspaceId, t.occurredAt, t.contactHash)
      .where(sql`opted_in = 0`),
  ],
);
export type ConsentRow = typeof consents.$inferSelect;

/**
 * The UTC quarter hours in which each contact was sent at least one marketing message (by report_at,
 * as the rollup consumer last applied it), with how many, and the contact's previous such quarter (-1:
 * none). Contacts sent marketing in a range are then counted as rows: a contact's first quarter in the
 * range is the row whose previous quarter lies before it (as retention_quarters, migrations/0008).
 * Kept through the marketing_send_events view, whose triggers link each quarter between its neighbours.
 */
export const marketingQuarters = sqliteTable(
  "marketing_quarters",
  {
    workspaceId: text("workspace_id").notNull(),
    contactHash: text("contact_hash").notNull(),
    quarter: integer("quarter").notNull(),
    messages: integer("messages").notNull(),
    prevQuarter: integer("prev_quarter").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.contactHash, t.quarter] }),
    index("marketing_quarters_time").on(t.workspaceId, t.quarter, t.prevQuarter),
    index("marketing_quarters_prev").on(t.workspaceId, t.prevQuarter, t.quarter),
  ],
);

/** marketing_quarters rows per UTC day, by the UTC day of their previous quarter (-1: none). */
export const marketingDayPairs = sqliteTable(
  "marketing_day_pairs",
  {
    workspaceId: text("workspace_id").notNull(),
    day: integer("day").notNull(),
    prevDay: integer("prev_day").notNull(),
    quarters: integer("quarters").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.day, t.prevDay] })],
);

/** marketing_quarters rows per UTC day. */
export const marketingDays = sqliteTable(
  "marketing_days",
  {
    workspaceId: text("workspace_id").notNull(),
    day: integer("day").notNull(),
    quarters: integer("quarters").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.day] })],
);

export type DeadLetterKind = "click" | "status" | "inbound" | "consent" | "conversion" | "queue_message";

/**
 * Events that could never be written, each with the database's reason. They are kept apart so that
 * they block no one else's events, and their own workspace can read them back.
 */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    id: text("id").primaryKey(),
    // Null when the event names no workspace (a queue message that could not be read at all).
    workspaceId: text("workspace_id"),
    kind: text("kind").$type<DeadLetterKind>().notNull(),
    reason: text("reason").notNull(),
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("dead_letters_by_workspace").on(t.workspaceId, t.createdAt)],
);
export type DeadLetterRow = typeof deadLetters.$inferSelect;

/** The changes of state that consumers (GA4, outbound webhooks) are told of, each exactly once. */
export const outboxEventTypes = [
  "link.clicked",
  "conversion.created",
  "message.delivered",
  "message.read",
  "message.replied",
  "message.failed",
  "message.clicked",
  "message.converted",
] as const;
export type OutboxEventType = (typeof outboxEventTypes)[number];

/**
 * Entries only the rollups read: a message's state as its writers changed it (times, contact,
 * campaign, country, pricing), an inbound message, an event reported through the events API.
 */
export const internalOutboxTypes = ["message.changed", "inbound.received", "contact_event.recorded"] as const;

/**
 * Every change of state, recorded by triggers in the same transaction as the write that caused it:
 * a human click, a new conversion, a message first reaching a step (with the inference rules of
 * message state). `seq` orders the entries for consumers that read past a position.
 */
export const outbox = sqliteTable(
  "outbox",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    workspaceId: text("workspace_id").notNull(),
    type: text("type").$type<OutboxEventType | (typeof internalOutboxTypes)[number]>().notNull(),
    // The click id, conversion id or wamid the change is about.
    subjectId: text("subject_id").notNull(),
    occurredAt: integer("occurred_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  // In order of seq, per workspace. Not by subject: subjects (wamids, click ids) are random, and an index
  // on them cost each outbox row about 50 times more to write; erasure reads the workspace's entries.
  (t) => [index("outbox_by_workspace").on(t.workspaceId, t.seq)],
);
export type OutboxRow = typeof outbox.$inferSelect;

/**
 * Contacts erased recently: queued work about them that was recorded before the erasure is dropped
 * when the queue delivers it. Kept only as long as the queue can hold a message (see
 * ERASURE_MEMORY_DAYS), then deleted by the daily housekeeping.
 */
export const contactErasures = sqliteTable(
  "contact_erasures",
  {
    workspaceId: text("workspace_id").notNull(),
    contactHash: text("contact_hash").notNull(),
    erasedAt: integer("erased_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.contactHash] })],
);

/** How far each consumer of the outbox has applied it (see src/db/pipeline.ts). */
export const pipelinePositions = sqliteTable("pipeline_positions", {
  consumer: text("consumer").primaryKey(),
  seq: integer("seq").notNull(),
  appliedAt: integer("applied_at").notNull(),
});

/**
 * The salt of each UTC day's visitor hashes: random, created on the day's first use, stored only
 * sealed with DATA_KEY, and deleted by the daily cron once older than two days, after which that
 * day's visitor hashes can no longer be computed again from an address and a user agent.
 */
export const visitorSalts = sqliteTable("visitor_salts", {
  // YYYY-MM-DD (UTC).
  day: text("day").primaryKey(),
  sealed: text("sealed").notNull(),
  createdAt: integer("created_at").notNull(),
});

/**
 * What one chunk of the daily purge deletes of messages: the applied facts it was chosen by, so that
 * the message, its facts and its place among its contact's messages go in the same transaction. Empty
 * outside it.
 */
export const purgeMessages = sqliteTable(
  "purge_messages",
  {
    workspaceId: text("workspace_id").notNull(),
    messageId: text("message_id").notNull(),
    contactHash: text("contact_hash"),
    reportAt: integer("report_at"),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.messageId] })],
);

/**
 * Events on their way to GA4's Measurement Protocol: each human click and new conversion of a workspace
 * that forwards to GA4, built once when the GA4 consumer reads the outbox (src/ga4/forward.ts). A row is
 * `pending` until GA4 accepts it, when it is deleted and counted in ga4_totals; one that exhausts its
 * retries, or can never be sent, is kept as `failed` (the dead-letter store) until it is replayed.
 */
export const ga4Events = sqliteTable(
  "ga4_events",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    kind: text("kind").$type<"click" | "conversion">().notNull(),
    // The click id or conversion id the event was built from.
    subjectId: text("subject_id").notNull(),
    // Whose event it is, so that erasing a contact reaches events not sent yet.
    contactHash: text("contact_hash"),
    clientId: text("client_id").notNull(),
    // The request's consent object, as GA4 reads it.
    consent: text("consent", { mode: "json" }).$type<Record<string, string>>().notNull(),
    // The event as GA4 reads it: { name, params, timestamp_micros }.
    event: text("event", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    occurredAt: integer("occurred_at").notNull(),
    status: text("status").$type<"pending" | "failed">().notNull(),
    attempts: integer("attempts").notNull().default(0),
    // When a pending event is next due; while a sender holds it, lease_until keeps others off it.
    nextAt: integer("next_at").notNull(),
    leaseUntil: integer("lease_until").notNull().default(0),
    // Why the last attempt failed.
    reason: text("reason"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("ga4_events_due")
      .on(t.nextAt)
      .where(sql`status = 'pending'`),
    index("ga4_events_by_status").on(t.workspaceId, t.status, t.createdAt),
    index("ga4_events_by_workspace").on(t.workspaceId, t.createdAt),
  ],
);
export type Ga4EventRow = typeof ga4Events.$inferSelect;

/** Per workspace, the events GA4 accepted and those skipped as older than it accepts. */
export const ga4Totals = sqliteTable("ga4_totals", {
  workspaceId: text("workspace_id").primaryKey(),
  sent: integer("sent").notNull().default(0),
  skipped: integer("skipped").notNull().default(0),
});

export const webhookEventTypes = [
  "link.clicked",
  "conversion.created",
  "message.delivered",
  "message.read",
  "message.replied",
  "message.failed",
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** Where a workspace's outbound webhooks go (SPEC §13); the signing secret is stored sealed with DATA_KEY. */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    url: text("url").notNull(),
    events: text("events", { mode: "json" }).$type<WebhookEventType[]>().notNull(),
    secret: text("secret").notNull(),
    createdAt: integer("created_at").notNull(),
    // Set when the endpoint answered 410 Gone: nothing more is sent until its deliveries are replayed.
    disabledAt: integer("disabled_at"),
    disabledReason: text("disabled_reason"),
  },
  (t) => [index("webhook_endpoints_by_workspace").on(t.workspaceId)],
);
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;

/**
 * One event for one endpoint: built once when the webhooks' consumer reads the outbox
 * (src/webhooks/forward.ts), `pending` until the endpoint accepts it, then kept as the delivery log
 * (`delivered`, or `failed` once its retries are exhausted, until replayed).
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    // The webhook-id: the same on every attempt.
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    type: text("type").$type<WebhookEventType>().notNull(),
    subjectId: text("subject_id").notNull(),
    // Whose event it is, so that erasing a contact reaches its deliveries.
    contactHash: text("contact_hash"),
    // The body exactly as signed and sent.
    payload: text("payload").notNull(),
    status: text("status").$type<"pending" | "delivered" | "failed">().notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAt: integer("next_at").notNull(),
    leaseUntil: integer("lease_until").notNull().default(0),
    // The last attempt's HTTP status, or why it had none.
    responseStatus: integer("response_status"),
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [
    index("webhook_deliveries_due")
      .on(t.nextAt)
      .where(sql`status = 'pending'`),
    index("webhook_deliveries_by_endpoint").on(t.endpointId, t.status),
    index("webhook_deliveries_by_workspace").on(t.workspaceId, t.createdAt),
  ],
);
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

/**
 * Which D1 binding holds each workspace's rows (docs/scaling.md, "Past one database"). Kept in `DB`, which is
 * also the directory: workspaces and their API keys stay there, since a request finds its workspace through
 * them before it knows the workspace's database. A workspace with no row lives in `DB`.
 */
export const workspacePlacements = sqliteTable("workspace_placements", {
  workspaceId: text("workspace_id").primaryKey(),
  // The binding that holds the workspace's rows now, e.g. `DB_1`.
  binding: text("binding").notNull(),
  // Set while the rows are being copied to this binding; the workspace is still read from `binding` then.
  movingTo: text("moving_to"),
  // Set once the placement has switched, until the rows left behind in this binding are deleted.
  movedFrom: text("moved_from"),
  updatedAt: integer("updated_at").notNull(),
});
export type WorkspacePlacementRow = typeof workspacePlacements.$inferSelect;
