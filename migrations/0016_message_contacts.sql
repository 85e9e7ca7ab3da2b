CREATE TABLE `message_contacts` (
	`workspace_id` text NOT NULL,
	`contact_hash` text NOT NULL,
	`report_at` integer NOT NULL,
	`message_id` text NOT NULL,
	PRIMARY KEY(`workspace_id`, `contact_hash`, `report_at`, `message_id`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Where each applied message stands for its contact, as the rollup consumer last applied it.
INSERT INTO `message_contacts` SELECT `workspace_id`, `contact_hash`, `report_at`, `message_id`
FROM `message_rollup_applied` WHERE `contact_hash` IS NOT NULL AND `report_at` IS NOT NULL;--> statement-breakpoint
DROP INDEX `messages_contact_report`;--> statement-breakpoint
DROP INDEX `messages_link`;--> statement-breakpoint
CREATE INDEX `messages_link` ON `messages` (`workspace_id`,`link_code`,`contact_hash`) WHERE "messages"."link_code" IS NOT NULL;