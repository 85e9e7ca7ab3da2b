CREATE TABLE `inbound_messages` (
	`workspace_id` text NOT NULL,
	`id` text NOT NULL,
	`contact_hash` text,
	`context_id` text,
	`type` text NOT NULL,
	`occurred_at` integer NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `inbound_context` ON `inbound_messages` (`workspace_id`,`context_id`);--> statement-breakpoint
CREATE INDEX `inbound_contact_time` ON `inbound_messages` (`workspace_id`,`contact_hash`,`occurred_at`);--> statement-breakpoint
CREATE TABLE `messages` (
	`workspace_id` text NOT NULL,
	`id` text NOT NULL,
	`contact_hash` text,
	`campaign_id` text,
	`variant` text,
	`link_code` text,
	`category` text,
	`external_id` text,
	`biz_opaque` text,
	`registered_at` integer,
	`sent_at` integer,
	`delivered_at` integer,
	`read_at` integer,
	`failed_at` integer,
	`errors` text,
	`pricing` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `id`)
);
--> statement-breakpoint
CREATE INDEX `messages_campaign_sent` ON `messages` (`workspace_id`,`campaign_id`,`sent_at`);--> statement-breakpoint
CREATE INDEX `messages_contact_sent` ON `messages` (`workspace_id`,`contact_hash`,`sent_at`);--> statement-breakpoint
CREATE INDEX `messages_link` ON `messages` (`workspace_id`,`link_code`);--> statement-breakpoint
CREATE INDEX `clicks_message` ON `clicks` (`workspace_id`,`message_id`,`occurred_at`) WHERE message_id IS NOT NULL;