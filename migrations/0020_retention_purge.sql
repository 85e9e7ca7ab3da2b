CREATE TABLE `purge_messages` (
	`workspace_id` text NOT NULL,
	`message_id` text NOT NULL,
	`contact_hash` text,
	`report_at` integer,
	PRIMARY KEY(`workspace_id`, `message_id`)
);
--> statement-breakpoint
CREATE TABLE `visitor_salts` (
	`day` text PRIMARY KEY NOT NULL,
	`sealed` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
DROP INDEX `contact_events_workspace_time`;--> statement-breakpoint
CREATE INDEX `contact_events_workspace_time` ON `contact_events` (`workspace_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `inbound_workspace_time` ON `inbound_messages` (`workspace_id`,`occurred_at`);--> statement-breakpoint
-- Written by hand (npm run db:rollups -- --print-applied prints it with its table): the daily purge
-- chooses messages by when they aged past retention, as the rollup consumer last applied them, so the
-- index is kept by the consumer and costs the write path of statuses nothing.
CREATE INDEX `message_rollup_applied_expiry` ON `message_rollup_applied` (`workspace_id`, MIN(COALESCE(report_at, 9e15), COALESCE(converted_at, 9e15), COALESCE(replied_at, 9e15)));
