DROP INDEX `messages_contact_report`;--> statement-breakpoint
CREATE INDEX `messages_contact_report` ON `messages` (`workspace_id`,`contact_hash`,`report_at`,`id`);