CREATE TABLE `ga4_events` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`kind` text NOT NULL,
	`subject_id` text NOT NULL,
	`contact_hash` text,
	`client_id` text NOT NULL,
	`consent` text NOT NULL,
	`event` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_at` integer NOT NULL,
	`lease_until` integer DEFAULT 0 NOT NULL,
	`reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `ga4_events_due` ON `ga4_events` (`next_at`) WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX `ga4_events_by_status` ON `ga4_events` (`workspace_id`,`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `ga4_events_by_workspace` ON `ga4_events` (`workspace_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `ga4_totals` (
	`workspace_id` text PRIMARY KEY NOT NULL,
	`sent` integer DEFAULT 0 NOT NULL,
	`skipped` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE `conversions` ADD `ga_session_id` text;--> statement-breakpoint
ALTER TABLE `conversions` ADD `ad_user_data` text;--> statement-breakpoint
ALTER TABLE `conversions` ADD `ad_personalization` text;--> statement-breakpoint
-- The GA4 consumer reads the outbox from here on: forwarding starts with the events recorded after it.
INSERT INTO `pipeline_positions` VALUES ('ga4', COALESCE((SELECT MAX(`seq`) FROM `outbox`), 0),
  CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
