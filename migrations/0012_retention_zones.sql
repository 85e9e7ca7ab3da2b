-- Retention in a workspace's own time zone (its `timezone` setting), kept like UTC retention: the same
-- rollup tables hold a second copy under a rollup id of its own (`<workspaceId>|<zone>|<n>`), fed the
-- same start and return events with their times moved onto the zone's wall clock. The rollups number
-- periods by arithmetic on those times, so on the wall clock they are the zone's local days, Monday
-- weeks and months, exact across daylight-saving changes. Other zones are still answered exactly, by
-- correcting the UTC rollups (src/reports/retention-zoned.ts), at a cost that grows with the data.

-- From `from_ms` (UTC) on, the zone's wall clock is `offset_ms` ahead of UTC. A zone's first row starts
-- at the earliest time there is, so every event finds its offset.
CREATE TABLE `zone_offsets` (
	`zone` text NOT NULL,
	`from_ms` integer NOT NULL,
	`offset_ms` integer NOT NULL,
	PRIMARY KEY (`zone`, `from_ms`)
) WITHOUT ROWID;
--> statement-breakpoint
-- The wall-clock copies of a workspace's retention. A new one is filled in the background in contact
-- hash order; until `filled_to` is NULL, events reach it only for the contacts already filled
-- (hash <= filled_to), so that no contact counts twice. One being dropped gets no events.
CREATE TABLE `retention_zones` (
	`rollup_id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`zone` text NOT NULL,
	`filled_to` text,
	`dropping` integer DEFAULT 0 NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE INDEX `retention_zones_workspace` ON `retention_zones` (`workspace_id`, `dropping`);
--> statement-breakpoint
-- The entry points for start and return events from raw writes: each event goes to the workspace's
-- UTC rollups and to every wall-clock copy that takes it.
CREATE VIEW `retention_starts` AS
	SELECT '' AS `workspace_id`, '' AS `contact_hash`, '' AS `kind`, 0 AS `at`, 0 AS `exact` WHERE 0;
--> statement-breakpoint
CREATE VIEW `retention_returns` AS
	SELECT '' AS `workspace_id`, '' AS `contact_hash`, 0 AS `at`, 0 AS `bit` WHERE 0;
--> statement-breakpoint
CREATE TRIGGER `retention_starts_fan_out` INSTEAD OF INSERT ON `retention_starts`
BEGIN
	INSERT INTO `retention_start_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`kind`, NEW.`at`, NEW.`exact`);
	INSERT INTO `retention_start_events`
	SELECT z.`rollup_id`, NEW.`contact_hash`, NEW.`kind`, NEW.`at` + (
		SELECT o.`offset_ms` FROM `zone_offsets` o WHERE o.`zone` = z.`zone` AND o.`from_ms` <= NEW.`at`
		ORDER BY o.`from_ms` DESC LIMIT 1), NEW.`exact`
	FROM `retention_zones` z
	WHERE z.`workspace_id` = NEW.`workspace_id` AND z.`dropping` = 0
		AND (z.`filled_to` IS NULL OR NEW.`contact_hash` <= z.`filled_to`);
END;
--> statement-breakpoint
CREATE TRIGGER `retention_returns_fan_out` INSTEAD OF INSERT ON `retention_returns`
BEGIN
	INSERT INTO `retention_return_events` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`at`, NEW.`bit`);
	INSERT INTO `retention_return_events`
	SELECT z.`rollup_id`, NEW.`contact_hash`, NEW.`at` + (
		SELECT o.`offset_ms` FROM `zone_offsets` o WHERE o.`zone` = z.`zone` AND o.`from_ms` <= NEW.`at`
		ORDER BY o.`from_ms` DESC LIMIT 1), NEW.`bit`
	FROM `retention_zones` z
	WHERE z.`workspace_id` = NEW.`workspace_id` AND z.`dropping` = 0
		AND (z.`filled_to` IS NULL OR NEW.`contact_hash` <= z.`filled_to`);
END;
--> statement-breakpoint
-- The raw-table triggers of 0008, now sending their events through the entry points.
DROP TRIGGER `retention_message_inserted`;
--> statement-breakpoint
CREATE TRIGGER `retention_message_inserted` AFTER INSERT ON `messages`
WHEN NEW.`contact_hash` IS NOT NULL AND NEW.`report_at` IS NOT NULL
BEGIN
	INSERT INTO `retention_starts` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, 'message', NEW.`report_at`, 0);
END;
--> statement-breakpoint
DROP TRIGGER `retention_message_updated`;
--> statement-breakpoint
CREATE TRIGGER `retention_message_updated`
AFTER UPDATE OF `contact_hash`, `sent_at`, `delivered_at`, `read_at`, `failed_at`, `clicked_at` ON `messages`
WHEN NEW.`contact_hash` IS NOT NULL AND NEW.`report_at` IS NOT NULL
	AND (NEW.`report_at` IS NOT OLD.`report_at` OR NEW.`contact_hash` IS NOT OLD.`contact_hash`)
BEGIN
	INSERT INTO `retention_starts` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, 'message', NEW.`report_at`, 0);
END;
--> statement-breakpoint
DROP TRIGGER `retention_message_recontacted`;
--> statement-breakpoint
CREATE TRIGGER `retention_message_recontacted` AFTER UPDATE OF `contact_hash` ON `messages`
WHEN OLD.`contact_hash` IS NOT NULL AND OLD.`contact_hash` IS NOT NEW.`contact_hash`
	AND OLD.`report_at` <= (SELECT `first_message_at` FROM `retention_contacts`
		WHERE `workspace_id` = OLD.`workspace_id` AND `contact_hash` = OLD.`contact_hash`)
BEGIN
	INSERT INTO `retention_starts`
	SELECT OLD.`workspace_id`, OLD.`contact_hash`, 'message', MIN(`report_at`), 1 FROM `messages`
	WHERE `workspace_id` = OLD.`workspace_id` AND `contact_hash` = OLD.`contact_hash`;
END;
--> statement-breakpoint
DROP TRIGGER `retention_click`;
--> statement-breakpoint
CREATE TRIGGER `retention_click` AFTER INSERT ON `clicks`
WHEN NEW.`kind` = 'click' AND NEW.`contact_hash` IS NOT NULL
BEGIN
	INSERT INTO `retention_starts` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, 'click', NEW.`occurred_at`, 0);
	INSERT INTO `retention_returns` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`occurred_at`, 1);
END;
--> statement-breakpoint
DROP TRIGGER `retention_reply`;
--> statement-breakpoint
CREATE TRIGGER `retention_reply` AFTER INSERT ON `inbound_messages`
WHEN NEW.`contact_hash` IS NOT NULL
BEGIN
	INSERT INTO `retention_returns` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`occurred_at`, 2);
END;
--> statement-breakpoint
DROP TRIGGER `retention_conversion`;
--> statement-breakpoint
CREATE TRIGGER `retention_conversion` AFTER INSERT ON `conversions`
WHEN NEW.`contact_hash` IS NOT NULL
BEGIN
	INSERT INTO `retention_returns` VALUES (NEW.`workspace_id`, NEW.`contact_hash`, NEW.`occurred_at`, 4);
END;
