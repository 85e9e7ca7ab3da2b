DROP INDEX `messages_campaign_sent`;--> statement-breakpoint
ALTER TABLE `messages` ADD `country` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `device` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `clicked_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `converted_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `revenue_micros` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `replied_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `rolled_up` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `report_at` integer GENERATED ALWAYS AS (NULLIF(MIN(COALESCE(sent_at, 9e15), COALESCE(delivered_at, 9e15), COALESCE(read_at, 9e15), COALESCE(failed_at, 9e15), COALESCE(clicked_at, 9e15)), 9e15)) VIRTUAL;--> statement-breakpoint
CREATE INDEX `messages_contact_report` ON `messages` (`workspace_id`,`contact_hash`,`report_at`);--> statement-breakpoint
ALTER TABLE `inbound_messages` ADD `responded_at` integer;--> statement-breakpoint
-- Rollups of messages by the time reports place them at (report_at), per UTC quarter hour ('q') and
-- per UTC day ('d'). A report over [from, to) reads whole days from 'd' and the edges from 'q'; every
-- time zone's offset is a multiple of 15 minutes, so local days and weeks are exact too. Counts are
-- of messages; clicked_<w> / converted_<w> count those that clicked / converted within w of being
-- sent. Empty strings stand for "none" in the key so that it stays unique.
CREATE TABLE `message_rollups` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`bucket` integer NOT NULL,
	`campaign_id` text NOT NULL,
	`variant` text NOT NULL,
	`country` text NOT NULL,
	`device` text NOT NULL,
	`category` text NOT NULL,
	`sent` integer NOT NULL,
	`sent_inferred` integer NOT NULL,
	`delivered` integer NOT NULL,
	`delivered_inferred` integer NOT NULL,
	`read` integer NOT NULL,
	`read_inferred` integer NOT NULL,
	`failed` integer NOT NULL,
	`clicked` integer NOT NULL,
	`clicked_1h` integer NOT NULL,
	`clicked_6h` integer NOT NULL,
	`clicked_1d` integer NOT NULL,
	`clicked_3d` integer NOT NULL,
	`clicked_7d` integer NOT NULL,
	`clicked_14d` integer NOT NULL,
	`clicked_30d` integer NOT NULL,
	`converted` integer NOT NULL,
	`converted_1h` integer NOT NULL,
	`converted_6h` integer NOT NULL,
	`converted_1d` integer NOT NULL,
	`converted_3d` integer NOT NULL,
	`converted_7d` integer NOT NULL,
	`converted_14d` integer NOT NULL,
	`converted_30d` integer NOT NULL,
	`replied` integer NOT NULL,
	`billable` integer NOT NULL,
	`revenue_micros` integer NOT NULL,
	PRIMARY KEY (`workspace_id`, `grain`, `bucket`, `campaign_id`, `variant`, `country`, `device`, `category`)
) WITHOUT ROWID;
--> statement-breakpoint
-- How long messages took to be clicked and to convert, on a log scale (bucket b holds delays in
-- (1.1^(b-1), 1.1^b] seconds; 0 holds a second or less), for medians within 5 %.
CREATE TABLE `message_delays` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`bucket` integer NOT NULL,
	`campaign_id` text NOT NULL,
	`variant` text NOT NULL,
	`step` text NOT NULL,
	`delay_bucket` integer NOT NULL,
	`messages` integer NOT NULL,
	PRIMARY KEY (`workspace_id`, `grain`, `bucket`, `campaign_id`, `variant`, `step`, `delay_bucket`)
) WITHOUT ROWID;
--> statement-breakpoint
-- A human click belongs to a message when it carries the message's id (a link made for that message)
-- or came through the recipient's own link; a shared campaign link cannot say who clicked. The first
-- click dates the click step and gives the message its device.
CREATE TRIGGER `clicks_onto_messages` AFTER INSERT ON `clicks`
WHEN NEW.`kind` = 'click'
BEGIN
  UPDATE `messages` SET
    `device` = CASE
      WHEN `clicked_at` IS NULL OR NEW.`occurred_at` < `clicked_at` THEN COALESCE(NEW.`device_type`, '')
      WHEN NEW.`occurred_at` = `clicked_at` THEN MIN(`device`, COALESCE(NEW.`device_type`, ''))
      ELSE `device` END,
    `clicked_at` = MIN(COALESCE(`clicked_at`, NEW.`occurred_at`), NEW.`occurred_at`)
  WHERE `rowid` IN (
    SELECT `rowid` FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `id` = NEW.`message_id`
    UNION
    SELECT m.`rowid` FROM `messages` m JOIN `links` l ON l.`id` = NEW.`link_id`
    WHERE m.`workspace_id` = NEW.`workspace_id` AND m.`link_code` = l.`code` AND m.`contact_hash` = l.`contact_hash`);
END;
--> statement-breakpoint
-- A conversion belongs to a message the same way; its value adds to the message's revenue once.
CREATE TRIGGER `conversions_onto_messages` AFTER INSERT ON `conversions`
BEGIN
  UPDATE `messages` SET
    `converted_at` = MIN(COALESCE(`converted_at`, NEW.`occurred_at`), NEW.`occurred_at`),
    `revenue_micros` = `revenue_micros` + COALESCE(CAST(ROUND(NEW.`value` * 1000000) AS INTEGER), 0)
  WHERE `rowid` IN (
    SELECT `rowid` FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `id` = NEW.`message_id`
    UNION
    SELECT m.`rowid` FROM `messages` m JOIN `links` l ON l.`id` = NEW.`link_id`
    WHERE m.`workspace_id` = NEW.`workspace_id` AND m.`link_code` = l.`code` AND m.`contact_hash` = l.`contact_hash`);
END;
--> statement-breakpoint
-- A reply belongs to the message its context names, else to the contact's latest message before it
-- (ties go to the greater id, as everywhere a reply is placed).
CREATE TRIGGER `inbound_onto_messages` AFTER INSERT ON `inbound_messages`
BEGIN
  UPDATE `messages` SET `replied_at` = MIN(COALESCE(`replied_at`, NEW.`occurred_at`), NEW.`occurred_at`)
  WHERE `workspace_id` = NEW.`workspace_id` AND `id` = COALESCE(NEW.`context_id`, (
    SELECT `id` FROM `messages`
    WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
      AND `report_at` <= NEW.`occurred_at`
    ORDER BY `report_at` DESC, `id` DESC LIMIT 1));
END;
--> statement-breakpoint
-- A new message counts once it has gathered what arrived before it; the update below does that.
CREATE TRIGGER `messages_roll_up_new` AFTER INSERT ON `messages`
BEGIN
  UPDATE `messages` SET `rolled_up` = 1 WHERE `workspace_id` = NEW.`workspace_id` AND `id` = NEW.`id`;
END;
--> statement-breakpoint
-- Clicks and conversions that came before the message (or before its link or contact was known)
-- are gathered when it appears and whenever its link or contact changes.
CREATE TRIGGER `messages_gather_clicks` AFTER UPDATE OF `rolled_up`, `link_code`, `contact_hash` ON `messages`
WHEN OLD.`rolled_up` IS NOT NEW.`rolled_up` OR OLD.`link_code` IS NOT NEW.`link_code`
  OR OLD.`contact_hash` IS NOT NEW.`contact_hash`
BEGIN
  UPDATE `messages` SET
    (`clicked_at`, `device`) = (
      SELECT `occurred_at`, `device` FROM (
        SELECT `occurred_at`, COALESCE(`device_type`, '') AS `device` FROM `clicks`
        WHERE `workspace_id` = NEW.`workspace_id` AND `message_id` = NEW.`id` AND `kind` = 'click'
        UNION ALL
        SELECT c.`occurred_at`, COALESCE(c.`device_type`, '') FROM `links` l JOIN `clicks` c ON c.`link_id` = l.`id`
        WHERE l.`code` = NEW.`link_code` AND l.`workspace_id` = NEW.`workspace_id`
          AND l.`contact_hash` = NEW.`contact_hash` AND c.`kind` = 'click')
      ORDER BY `occurred_at`, `device` LIMIT 1),
    (`converted_at`, `revenue_micros`) = (
      SELECT MIN(`occurred_at`), COALESCE(SUM(CAST(ROUND(`value` * 1000000) AS INTEGER)), 0) FROM (
        SELECT `id`, `occurred_at`, `value` FROM `conversions`
        WHERE `workspace_id` = NEW.`workspace_id` AND `message_id` = NEW.`id`
        UNION
        SELECT v.`id`, v.`occurred_at`, v.`value` FROM `links` l JOIN `conversions` v ON v.`link_id` = l.`id`
        WHERE l.`code` = NEW.`link_code` AND l.`workspace_id` = NEW.`workspace_id`
          AND l.`contact_hash` = NEW.`contact_hash`))
  WHERE `workspace_id` = NEW.`workspace_id` AND `id` = NEW.`id`;
END;
--> statement-breakpoint
-- When a message appears or moves in time, replies of its contact without a context may now belong
-- to it rather than to an earlier message: place them all again (a contact has few messages).
CREATE TRIGGER `messages_place_replies` AFTER UPDATE OF `rolled_up`, `sent_at`, `delivered_at`, `read_at`, `failed_at`, `clicked_at`, `contact_hash` ON `messages`
WHEN OLD.`rolled_up` IS NOT NEW.`rolled_up` OR OLD.`report_at` IS NOT NEW.`report_at`
  OR OLD.`contact_hash` IS NOT NEW.`contact_hash`
BEGIN
  UPDATE `messages` SET `replied_at` = (
    SELECT MIN(`occurred_at`) FROM (
      SELECT `occurred_at` FROM `inbound_messages` i
      WHERE i.`workspace_id` = `messages`.`workspace_id` AND i.`context_id` = `messages`.`id`
      UNION ALL
      SELECT `occurred_at` FROM `inbound_messages` i
      WHERE i.`workspace_id` = `messages`.`workspace_id` AND i.`contact_hash` = `messages`.`contact_hash`
        AND i.`context_id` IS NULL AND i.`occurred_at` >= `messages`.`report_at`
        AND `messages`.`id` = (
          SELECT n.`id` FROM `messages` n
          WHERE n.`workspace_id` = i.`workspace_id` AND n.`contact_hash` = i.`contact_hash`
            AND n.`report_at` <= i.`occurred_at`
          ORDER BY n.`report_at` DESC, n.`id` DESC LIMIT 1)))
  WHERE `rowid` IN (
    SELECT `rowid` FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `id` = NEW.`id`
    UNION
    SELECT `rowid` FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`);
END;
--> statement-breakpoint
-- The rollups follow each message: its old contribution is taken away and its new one added, and
-- only when something a report reads has changed, so repeated statuses cost nothing here.
CREATE TRIGGER `messages_roll_up` AFTER UPDATE ON `messages`
WHEN NEW.`rolled_up` = 1 AND (OLD.`rolled_up` IS NOT NEW.`rolled_up` OR OLD.`report_at` IS NOT NEW.`report_at`
  OR OLD.`sent_at` IS NOT NEW.`sent_at` OR OLD.`delivered_at` IS NOT NEW.`delivered_at`
  OR OLD.`read_at` IS NOT NEW.`read_at` OR OLD.`failed_at` IS NOT NEW.`failed_at`
  OR OLD.`clicked_at` IS NOT NEW.`clicked_at` OR OLD.`converted_at` IS NOT NEW.`converted_at`
  OR OLD.`replied_at` IS NOT NEW.`replied_at` OR OLD.`revenue_micros` IS NOT NEW.`revenue_micros`
  OR OLD.`campaign_id` IS NOT NEW.`campaign_id` OR OLD.`variant` IS NOT NEW.`variant`
  OR OLD.`country` IS NOT NEW.`country` OR OLD.`device` IS NOT NEW.`device`
  OR OLD.`category` IS NOT NEW.`category` OR OLD.`pricing` IS NOT NEW.`pricing`)
BEGIN
  INSERT INTO `message_rollups` SELECT
    NEW.`workspace_id`, g.`grain`, m.`report_at` / g.`size`, m.`campaign_id`, m.`variant`, m.`country`, m.`device`, m.`category`,
    m.`w`, m.`w` * (m.`sent_at` IS NULL),
    m.`w` * (m.`delivered_at` IS NOT NULL OR m.`read_at` IS NOT NULL OR m.`engaged_at` IS NOT NULL),
    m.`w` * (m.`delivered_at` IS NULL AND (m.`read_at` IS NOT NULL OR m.`engaged_at` IS NOT NULL)),
    m.`w` * (m.`read_at` IS NOT NULL OR m.`engaged_at` IS NOT NULL),
    m.`w` * (m.`read_at` IS NULL AND m.`engaged_at` IS NOT NULL),
    m.`w` * (m.`failed_at` IS NOT NULL AND m.`delivered_at` IS NULL AND m.`read_at` IS NULL AND m.`engaged_at` IS NULL),
    m.`w` * (m.`engaged_at` IS NOT NULL),
    m.`w` * (m.`engaged_at` IS NOT NULL AND m.`engaged_at` - m.`report_at` <= 3600000),
    m.`w` * (m.`engaged_at` IS NOT NULL AND m.`engaged_at` - m.`report_at` <= 21600000),
    m.`w` * (m.`engaged_at` IS NOT NULL AND m.`engaged_at` - m.`report_at` <= 86400000),
    m.`w` * (m.`engaged_at` IS NOT NULL AND m.`engaged_at` - m.`report_at` <= 259200000),
    m.`w` * (m.`engaged_at` IS NOT NULL AND m.`engaged_at` - m.`report_at` <= 604800000),
    m.`w` * (m.`engaged_at` IS NOT NULL AND m.`engaged_at` - m.`report_at` <= 1209600000),
    m.`w` * (m.`engaged_at` IS NOT NULL AND m.`engaged_at` - m.`report_at` <= 2592000000),
    m.`w` * (m.`converted_at` IS NOT NULL),
    m.`w` * (m.`converted_at` IS NOT NULL AND m.`converted_at` - m.`report_at` <= 3600000),
    m.`w` * (m.`converted_at` IS NOT NULL AND m.`converted_at` - m.`report_at` <= 21600000),
    m.`w` * (m.`converted_at` IS NOT NULL AND m.`converted_at` - m.`report_at` <= 86400000),
    m.`w` * (m.`converted_at` IS NOT NULL AND m.`converted_at` - m.`report_at` <= 259200000),
    m.`w` * (m.`converted_at` IS NOT NULL AND m.`converted_at` - m.`report_at` <= 604800000),
    m.`w` * (m.`converted_at` IS NOT NULL AND m.`converted_at` - m.`report_at` <= 1209600000),
    m.`w` * (m.`converted_at` IS NOT NULL AND m.`converted_at` - m.`report_at` <= 2592000000),
    m.`w` * (m.`replied_at` IS NOT NULL),
    m.`w` * m.`billable`,
    m.`w` * m.`revenue_micros`
  FROM (
    SELECT -OLD.`rolled_up` AS `w`, OLD.`report_at` AS `report_at`, COALESCE(OLD.`campaign_id`, '') AS `campaign_id`,
      COALESCE(OLD.`variant`, '') AS `variant`, COALESCE(OLD.`country`, '') AS `country`, COALESCE(OLD.`device`, '') AS `device`,
      COALESCE(OLD.`category`, json_extract(OLD.`pricing`, '$.category'), '') AS `category`,
      OLD.`sent_at` AS `sent_at`, OLD.`delivered_at` AS `delivered_at`, OLD.`read_at` AS `read_at`, OLD.`failed_at` AS `failed_at`,
      COALESCE(MIN(OLD.`clicked_at`, OLD.`converted_at`), OLD.`clicked_at`, OLD.`converted_at`) AS `engaged_at`,
      OLD.`converted_at` AS `converted_at`, OLD.`replied_at` AS `replied_at`,
      COALESCE(json_extract(OLD.`pricing`, '$.billable') = 1, 0) AS `billable`, OLD.`revenue_micros` AS `revenue_micros`
    UNION ALL
    SELECT NEW.`rolled_up`, NEW.`report_at`, COALESCE(NEW.`campaign_id`, ''),
      COALESCE(NEW.`variant`, ''), COALESCE(NEW.`country`, ''), COALESCE(NEW.`device`, ''),
      COALESCE(NEW.`category`, json_extract(NEW.`pricing`, '$.category'), ''),
      NEW.`sent_at`, NEW.`delivered_at`, NEW.`read_at`, NEW.`failed_at`,
      COALESCE(MIN(NEW.`clicked_at`, NEW.`converted_at`), NEW.`clicked_at`, NEW.`converted_at`),
      NEW.`converted_at`, NEW.`replied_at`,
      COALESCE(json_extract(NEW.`pricing`, '$.billable') = 1, 0), NEW.`revenue_micros`
  ) m, (SELECT 'q' AS `grain`, 900000 AS `size` UNION ALL SELECT 'd', 86400000) g
  WHERE m.`w` <> 0 AND m.`report_at` IS NOT NULL
  ON CONFLICT DO UPDATE SET
    `sent` = `sent` + excluded.`sent`, `sent_inferred` = `sent_inferred` + excluded.`sent_inferred`,
    `delivered` = `delivered` + excluded.`delivered`, `delivered_inferred` = `delivered_inferred` + excluded.`delivered_inferred`,
    `read` = `read` + excluded.`read`, `read_inferred` = `read_inferred` + excluded.`read_inferred`,
    `failed` = `failed` + excluded.`failed`, `clicked` = `clicked` + excluded.`clicked`,
    `clicked_1h` = `clicked_1h` + excluded.`clicked_1h`, `clicked_6h` = `clicked_6h` + excluded.`clicked_6h`,
    `clicked_1d` = `clicked_1d` + excluded.`clicked_1d`, `clicked_3d` = `clicked_3d` + excluded.`clicked_3d`,
    `clicked_7d` = `clicked_7d` + excluded.`clicked_7d`, `clicked_14d` = `clicked_14d` + excluded.`clicked_14d`,
    `clicked_30d` = `clicked_30d` + excluded.`clicked_30d`, `converted` = `converted` + excluded.`converted`,
    `converted_1h` = `converted_1h` + excluded.`converted_1h`, `converted_6h` = `converted_6h` + excluded.`converted_6h`,
    `converted_1d` = `converted_1d` + excluded.`converted_1d`, `converted_3d` = `converted_3d` + excluded.`converted_3d`,
    `converted_7d` = `converted_7d` + excluded.`converted_7d`, `converted_14d` = `converted_14d` + excluded.`converted_14d`,
    `converted_30d` = `converted_30d` + excluded.`converted_30d`, `replied` = `replied` + excluded.`replied`,
    `billable` = `billable` + excluded.`billable`, `revenue_micros` = `revenue_micros` + excluded.`revenue_micros`;
  INSERT INTO `message_delays` SELECT
    NEW.`workspace_id`, g.`grain`, d.`report_at` / g.`size`, d.`campaign_id`, d.`variant`, d.`step`,
    CASE WHEN d.`at` - d.`report_at` <= 1000 THEN 0
      ELSE CAST(ceil(ln((d.`at` - d.`report_at`) / 1000.0) / ln(1.1)) AS INTEGER) END,
    d.`w`
  FROM (
    SELECT m.*, s.`step`, CASE s.`step` WHEN 'click' THEN m.`engaged_at` ELSE m.`converted_at` END AS `at`
    FROM (
      SELECT -OLD.`rolled_up` AS `w`, OLD.`report_at` AS `report_at`, COALESCE(OLD.`campaign_id`, '') AS `campaign_id`,
        COALESCE(OLD.`variant`, '') AS `variant`, OLD.`converted_at` AS `converted_at`,
        COALESCE(MIN(OLD.`clicked_at`, OLD.`converted_at`), OLD.`clicked_at`, OLD.`converted_at`) AS `engaged_at`
      UNION ALL
      SELECT NEW.`rolled_up`, NEW.`report_at`, COALESCE(NEW.`campaign_id`, ''), COALESCE(NEW.`variant`, ''),
        NEW.`converted_at`, COALESCE(MIN(NEW.`clicked_at`, NEW.`converted_at`), NEW.`clicked_at`, NEW.`converted_at`)
    ) m, (SELECT 'click' AS `step` UNION ALL SELECT 'convert') s
  ) d, (SELECT 'q' AS `grain`, 900000 AS `size` UNION ALL SELECT 'd', 86400000) g
  WHERE d.`w` <> 0 AND d.`at` IS NOT NULL AND d.`report_at` IS NOT NULL
  ON CONFLICT DO UPDATE SET `messages` = `messages` + excluded.`messages`;
END;
--> statement-breakpoint
-- Gathering a late message's conversions reads them by link.
CREATE INDEX `conversions_link` ON `conversions` (`link_id`) WHERE `link_id` IS NOT NULL;
--> statement-breakpoint
-- Messages stored before the rollups existed are counted now.
UPDATE `messages` SET `rolled_up` = 1;
