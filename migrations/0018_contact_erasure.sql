CREATE TABLE `contact_erasures` (
	`workspace_id` text NOT NULL,
	`contact_hash` text NOT NULL,
	`erased_at` integer NOT NULL,
	PRIMARY KEY(`workspace_id`, `contact_hash`)
);
--> statement-breakpoint
DROP INDEX `outbox_by_workspace`;--> statement-breakpoint
CREATE INDEX `outbox_subject` ON `outbox` (`workspace_id`,`subject_id`);--> statement-breakpoint
CREATE INDEX `contact_events_contact` ON `contact_events` (`workspace_id`,`contact_hash`);--> statement-breakpoint
CREATE INDEX `conversions_contact` ON `conversions` (`workspace_id`,`contact_hash`) WHERE contact_hash IS NOT NULL;--> statement-breakpoint
CREATE INDEX `links_contact` ON `links` (`workspace_id`,`contact_hash`) WHERE contact_hash IS NOT NULL;