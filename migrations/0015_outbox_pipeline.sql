-- Writes record raw events and their outbox entries only; everything derived from them (what each
-- message gathered, reply placement, rollups, retention) is applied in batches by the outbox's
-- rollup consumer (src/db/pipeline.ts), from the declarations in src/rollups/declarations.ts.
DROP TRIGGER `clicks_onto_messages`;--> statement-breakpoint
DROP TRIGGER `clicks_roll_up`;--> statement-breakpoint
DROP TRIGGER `retention_click`;--> statement-breakpoint
DROP TRIGGER `contact_events_roll_up`;--> statement-breakpoint
DROP TRIGGER `conversions_onto_messages`;--> statement-breakpoint
DROP TRIGGER `conversions_roll_up`;--> statement-breakpoint
DROP TRIGGER `retention_conversion`;--> statement-breakpoint
DROP TRIGGER `inbound_messages_move_response`;--> statement-breakpoint
DROP TRIGGER `inbound_messages_roll_up`;--> statement-breakpoint
DROP TRIGGER `inbound_onto_messages`;--> statement-breakpoint
DROP TRIGGER `retention_reply`;--> statement-breakpoint
DROP TRIGGER `messages_answer_inbound`;--> statement-breakpoint
DROP TRIGGER `messages_gather_clicks`;--> statement-breakpoint
DROP TRIGGER `messages_move_answer`;--> statement-breakpoint
DROP TRIGGER `messages_place_replies`;--> statement-breakpoint
DROP TRIGGER `messages_roll_up`;--> statement-breakpoint
DROP TRIGGER `messages_roll_up_new`;--> statement-breakpoint
DROP TRIGGER `retention_message_inserted`;--> statement-breakpoint
DROP TRIGGER `retention_message_recontacted`;--> statement-breakpoint
DROP TRIGGER `retention_message_updated`;--> statement-breakpoint
-- The message facts last added to the message rollups; until now, those of every rolled-up message.
CREATE TABLE `message_rollup_applied` (
	`workspace_id` text NOT NULL,
	`message_id` text NOT NULL,
	`contact_hash` text,
	`link_code` text,
	`report_at` integer,
	`campaign_id` text,
	`variant` text,
	`country` text,
	`device` text,
	`category` text,
	`sent_at` integer,
	`delivered_at` integer,
	`read_at` integer,
	`failed_at` integer,
	`engaged_at` integer,
	`converted_at` integer,
	`replied_at` integer,
	`billable` integer,
	`revenue_micros` integer,
	PRIMARY KEY (`workspace_id`, `message_id`)
) WITHOUT ROWID;--> statement-breakpoint
INSERT INTO message_rollup_applied (workspace_id, message_id, contact_hash, link_code, report_at, campaign_id, variant, country, device, category, sent_at, delivered_at, read_at, failed_at, engaged_at, converted_at, replied_at, billable, revenue_micros)
SELECT m.workspace_id, m.id, m.contact_hash AS contact_hash, m.link_code AS link_code, m.report_at AS report_at, COALESCE(m.campaign_id, '') AS campaign_id, COALESCE(m.variant, '') AS variant, COALESCE(m.country, '') AS country, COALESCE(m.device, '') AS device, COALESCE(m.category, json_extract(m.pricing, '$.category'), '') AS category, m.sent_at AS sent_at, m.delivered_at AS delivered_at, m.read_at AS read_at, m.failed_at AS failed_at, COALESCE(MIN(m.clicked_at, m.converted_at), m.clicked_at, m.converted_at) AS engaged_at, m.converted_at AS converted_at, m.replied_at AS replied_at, COALESCE(json_extract(m.pricing, '$.billable') = 1, 0) AS billable, m.revenue_micros AS revenue_micros FROM messages m WHERE m.rolled_up = 1;--> statement-breakpoint
ALTER TABLE `messages` DROP COLUMN `rolled_up`;--> statement-breakpoint
-- Whether an inbound message is in the rollups; until now every one was.
ALTER TABLE `inbound_messages` ADD `counted` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE `inbound_messages` SET `counted` = 1;--> statement-breakpoint
-- How far each consumer of the outbox has applied it.
CREATE TABLE `pipeline_positions` (
	`consumer` text PRIMARY KEY NOT NULL,
	`seq` integer NOT NULL,
	`applied_at` integer NOT NULL
);--> statement-breakpoint
INSERT INTO `pipeline_positions` VALUES ('rollups', COALESCE((SELECT MAX(`seq`) FROM `outbox`), 0),
  CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));--> statement-breakpoint
-- What one run of the consumer works on; empty outside its transaction.
CREATE TABLE `pipeline_entries` (
	`seq` integer PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`type` text NOT NULL,
	`subject_id` text NOT NULL
);--> statement-breakpoint
CREATE INDEX `pipeline_entries_type` ON `pipeline_entries` (`type`, `subject_id`);--> statement-breakpoint
CREATE TABLE `pipeline_messages` (`message_rowid` integer PRIMARY KEY NOT NULL);--> statement-breakpoint
CREATE TABLE `pipeline_inbound` (`inbound_rowid` integer PRIMARY KEY NOT NULL);--> statement-breakpoint
CREATE TABLE `pipeline_contacts` (
	`workspace_id` text NOT NULL,
	`contact_hash` text NOT NULL,
	PRIMARY KEY (`workspace_id`, `contact_hash`)
) WITHOUT ROWID;--> statement-breakpoint
-- The changes the rollups need besides the public ones: a message's state (times, campaign,
-- contact, country, pricing) as its writers set it, an inbound message, a reported event.
CREATE TRIGGER `outbox_message_inserted` AFTER INSERT ON `messages`
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  VALUES (NEW.`workspace_id`, 'message.changed', NEW.`id`, COALESCE(NEW.`report_at`, NEW.`created_at`),
    CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;--> statement-breakpoint
CREATE TRIGGER `outbox_message_changed` AFTER UPDATE OF `contact_hash`, `link_code`, `campaign_id`, `variant`,
  `country`, `category`, `pricing`, `sent_at`, `delivered_at`, `read_at`, `failed_at` ON `messages`
WHEN OLD.`contact_hash` IS NOT NEW.`contact_hash` OR OLD.`link_code` IS NOT NEW.`link_code`
  OR OLD.`campaign_id` IS NOT NEW.`campaign_id` OR OLD.`variant` IS NOT NEW.`variant`
  OR OLD.`country` IS NOT NEW.`country` OR OLD.`category` IS NOT NEW.`category` OR OLD.`pricing` IS NOT NEW.`pricing`
  OR OLD.`sent_at` IS NOT NEW.`sent_at` OR OLD.`delivered_at` IS NOT NEW.`delivered_at`
  OR OLD.`read_at` IS NOT NEW.`read_at` OR OLD.`failed_at` IS NOT NEW.`failed_at`
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  VALUES (NEW.`workspace_id`, 'message.changed', NEW.`id`, COALESCE(NEW.`report_at`, NEW.`created_at`),
    CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;--> statement-breakpoint
CREATE TRIGGER `outbox_inbound_received` AFTER INSERT ON `inbound_messages`
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  VALUES (NEW.`workspace_id`, 'inbound.received', NEW.`id`, NEW.`occurred_at`,
    CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;--> statement-breakpoint
CREATE TRIGGER `outbox_contact_event_recorded` AFTER INSERT ON `contact_events`
BEGIN
  INSERT INTO `outbox` (`workspace_id`, `type`, `subject_id`, `occurred_at`, `created_at`)
  VALUES (NEW.`workspace_id`, 'contact_event.recorded', NEW.`id`, NEW.`occurred_at`,
    CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
