CREATE TABLE `contact_aliases` (
	`workspace_id` text NOT NULL,
	`alias_hash` text NOT NULL,
	`contact_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `alias_hash`)
);
--> statement-breakpoint
CREATE INDEX `contact_aliases_contact` ON `contact_aliases` (`workspace_id`,`contact_hash`);--> statement-breakpoint
ALTER TABLE `messages` ADD `pricing_at` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `is_group` integer DEFAULT 0 NOT NULL;