CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`scopes` text NOT NULL,
	`key_hash` text NOT NULL,
	`hint` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_workspace` ON `api_keys` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `campaigns` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`variants` text NOT NULL,
	`template` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `campaigns_workspace` ON `campaigns` (`workspace_id`);--> statement-breakpoint
CREATE TABLE `clicks` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`link_id` text NOT NULL,
	`campaign_id` text,
	`variant` text,
	`message_id` text,
	`contact_hash` text,
	`kind` text NOT NULL,
	`is_unique` integer DEFAULT false NOT NULL,
	`visitor_hash` text,
	`occurred_at` integer NOT NULL,
	`country` text,
	`device_type` text,
	`os` text,
	`browser` text,
	`referrer_host` text,
	`user_agent` text
);
--> statement-breakpoint
CREATE INDEX `clicks_dedup` ON `clicks` (`link_id`,`visitor_hash`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `clicks_workspace_time` ON `clicks` (`workspace_id`,`occurred_at`);--> statement-breakpoint
CREATE INDEX `clicks_contact` ON `clicks` (`contact_hash`,`occurred_at`) WHERE contact_hash IS NOT NULL;--> statement-breakpoint
CREATE TABLE `links` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`code` text NOT NULL,
	`url` text NOT NULL,
	`campaign_id` text,
	`variant` text,
	`contact_hash` text,
	`message_id` text,
	`external_id` text,
	`utm` text,
	`expires_at` integer,
	`disabled_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL,
	`unique_clicks` integer DEFAULT 0 NOT NULL,
	`previews` integer DEFAULT 0 NOT NULL,
	`bots` integer DEFAULT 0 NOT NULL,
	`conversions` integer DEFAULT 0 NOT NULL,
	`revenue` real DEFAULT 0 NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`campaign_id`) REFERENCES `campaigns`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `links_code` ON `links` (`code`);--> statement-breakpoint
CREATE INDEX `links_workspace` ON `links` (`workspace_id`);--> statement-breakpoint
CREATE INDEX `links_campaign` ON `links` (`campaign_id`);--> statement-breakpoint
CREATE INDEX `links_message` ON `links` (`workspace_id`,`message_id`);--> statement-breakpoint
CREATE TABLE `workspaces` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`publishable_key` text NOT NULL,
	`settings` text NOT NULL,
	`secrets` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `workspaces_publishable_key_unique` ON `workspaces` (`publishable_key`);