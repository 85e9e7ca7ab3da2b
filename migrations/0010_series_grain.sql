DROP INDEX `messages_link`;--> statement-breakpoint
CREATE INDEX `messages_link` ON `messages` (`workspace_id`,`link_code`,`contact_hash`);
--> statement-breakpoint
-- A third grain, 't': quarter hours by campaign and variant only. Series and heatmaps sum every
-- quarter hour of their range, and without the country, device and category in the key the rows
-- they read stop growing with the data (the 'q' rows with those dimensions serve only range edges).
DROP TRIGGER `messages_roll_up`;
--> statement-breakpoint
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
    NEW.`workspace_id`, g.`grain`, m.`report_at` / g.`size`, m.`campaign_id`, m.`variant`,
    CASE WHEN g.`dims` THEN m.`country` ELSE '' END, CASE WHEN g.`dims` THEN m.`device` ELSE '' END,
    CASE WHEN g.`dims` THEN m.`category` ELSE '' END,
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
  ) m, (SELECT `column1` AS `grain`, `column2` AS `size`, `column3` AS `dims`
    FROM (VALUES ('q', 900000, 1), ('d', 86400000, 1), ('t', 900000, 0))) g
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
INSERT INTO `message_rollups`
SELECT `workspace_id`, 't', `bucket`, `campaign_id`, `variant`, '', '', '',
  SUM(`sent`), SUM(`sent_inferred`), SUM(`delivered`), SUM(`delivered_inferred`), SUM(`read`), SUM(`read_inferred`),
  SUM(`failed`), SUM(`clicked`), SUM(`clicked_1h`), SUM(`clicked_6h`), SUM(`clicked_1d`), SUM(`clicked_3d`),
  SUM(`clicked_7d`), SUM(`clicked_14d`), SUM(`clicked_30d`), SUM(`converted`), SUM(`converted_1h`),
  SUM(`converted_6h`), SUM(`converted_1d`), SUM(`converted_3d`), SUM(`converted_7d`), SUM(`converted_14d`),
  SUM(`converted_30d`), SUM(`replied`), SUM(`billable`), SUM(`revenue_micros`)
FROM `message_rollups` WHERE `grain` = 'q'
GROUP BY `workspace_id`, `bucket`, `campaign_id`, `variant`;
--> statement-breakpoint
-- Placing replies again read every message of the contact, and every later reply of it, each time a
-- message appeared: quadratic for a contact with many messages. Only three messages can change
-- owner: the one that appeared or moved, and the messages just before its new and its old place
-- (for each contact it had). A message's replies lie between it and the contact's next message.
DROP TRIGGER `messages_place_replies`;
--> statement-breakpoint
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
        AND i.`occurred_at` <= COALESCE((
          SELECT n.`report_at` FROM `messages` n
          WHERE n.`workspace_id` = `messages`.`workspace_id` AND n.`contact_hash` = `messages`.`contact_hash`
            AND (n.`report_at`, n.`id`) > (`messages`.`report_at`, `messages`.`id`)
          ORDER BY n.`report_at`, n.`id` LIMIT 1), 9e15)
        AND `messages`.`id` = (
          SELECT n.`id` FROM `messages` n
          WHERE n.`workspace_id` = i.`workspace_id` AND n.`contact_hash` = i.`contact_hash`
            AND n.`report_at` <= i.`occurred_at`
          ORDER BY n.`report_at` DESC, n.`id` DESC LIMIT 1)))
  WHERE `rowid` IN (
    SELECT `rowid` FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `id` = NEW.`id`
    UNION
    SELECT `rowid` FROM (
      SELECT `rowid` FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
        AND (`report_at`, `id`) < (NEW.`report_at`, NEW.`id`) ORDER BY `report_at` DESC, `id` DESC LIMIT 1)
    UNION
    SELECT `rowid` FROM (
      SELECT `rowid` FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = NEW.`contact_hash`
        AND (`report_at`, `id`) < (OLD.`report_at`, NEW.`id`) AND `id` <> NEW.`id`
      ORDER BY `report_at` DESC, `id` DESC LIMIT 1)
    UNION
    SELECT `rowid` FROM (
      SELECT `rowid` FROM `messages` WHERE `workspace_id` = NEW.`workspace_id` AND `contact_hash` = OLD.`contact_hash`
        AND (`report_at`, `id`) < (OLD.`report_at`, NEW.`id`) AND `id` <> NEW.`id`
      ORDER BY `report_at` DESC, `id` DESC LIMIT 1));
END;
