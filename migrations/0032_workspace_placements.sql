CREATE TABLE `workspace_placements` (
	`workspace_id` text PRIMARY KEY NOT NULL,
	`binding` text NOT NULL,
	`moving_to` text,
	`moved_from` text,
	`updated_at` integer NOT NULL
);
