DROP INDEX `outbox_subject`;--> statement-breakpoint
CREATE INDEX `outbox_by_workspace` ON `outbox` (`workspace_id`,`seq`);