CREATE TABLE `contact_events` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`type` text NOT NULL,
	`contact_hash` text NOT NULL,
	`campaign_id` text,
	`value` real,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `contact_events_workspace_time` ON `contact_events` (`workspace_id`,`type`,`occurred_at`);--> statement-breakpoint
CREATE TABLE `conversions` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`event` text NOT NULL,
	`order_id` text,
	`value` real,
	`value_minor` integer,
	`currency` text,
	`source` text NOT NULL,
	`click_id` text,
	`link_id` text,
	`link_code` text,
	`campaign_id` text,
	`variant` text,
	`message_id` text,
	`contact_hash` text,
	`ga_client_id` text,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `conversions_order` ON `conversions` (`workspace_id`,`event`,`order_id`) WHERE order_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `conversions_workspace_time` ON `conversions` (`workspace_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `conversions_message` ON `conversions` (`workspace_id`,`message_id`) WHERE message_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `conversions_click` ON `conversions` (`click_id`) WHERE click_id IS NOT NULL;