-- Human clicks and conversions per workspace, grain ('q' = UTC quarter hour, 'd' = UTC day), bucket,
-- campaign and variant, once per dimension: '' (the total, for time series), country, device, os,
-- browser, referrer and link (the link code). Variant needs no rows of its own: every row carries its
-- variant, so a breakdown by variant reads the '' rows. '' stands for "none" in every key column.
--
-- dimension comes before bucket in the key: every query asks for one dimension over a time range,
-- which is then one contiguous index range instead of a range holding all dimensions interleaved.
--
-- Link rows are kept at both grains, exactly. With one link per recipient a link row rarely sums more
-- than one click, so the link dimension costs about two rows per human click; dropping its 'q' rows
-- would halve that but make any range that is not whole UTC days (every non-UTC time zone) wrong.
CREATE TABLE `click_rollups` (
	`workspace_id` text NOT NULL,
	`grain` text NOT NULL,
	`dimension` text NOT NULL,
	`bucket` integer NOT NULL,
	`campaign_id` text NOT NULL,
	`variant` text NOT NULL,
	`key` text NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL,
	`unique_clicks` integer DEFAULT 0 NOT NULL,
	`conversions` integer DEFAULT 0 NOT NULL,
	`revenue_micros` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`workspace_id`, `grain`, `dimension`, `bucket`, `campaign_id`, `variant`, `key`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Only rows really inserted fire: a replayed click id (INSERT OR IGNORE) counts once. Previews and
-- bots are not clicks. The lists are VALUES rather than UNION ALL, which D1 allows only a few terms of;
-- the WHERE true keeps SQLite from reading ON CONFLICT as a join constraint.
CREATE TRIGGER `clicks_roll_up` AFTER INSERT ON `clicks`
WHEN NEW.`kind` = 'click'
BEGIN
  INSERT INTO `click_rollups`
    (`workspace_id`, `grain`, `dimension`, `bucket`, `campaign_id`, `variant`, `key`, `clicks`, `unique_clicks`)
  SELECT NEW.`workspace_id`, g.`grain`, d.`dimension`, CAST(NEW.`occurred_at` / g.`size` AS INTEGER),
    COALESCE(NEW.`campaign_id`, ''), COALESCE(NEW.`variant`, ''),
    COALESCE(CASE d.`dimension`
      WHEN 'country' THEN NEW.`country`
      WHEN 'device' THEN NEW.`device_type`
      WHEN 'os' THEN NEW.`os`
      WHEN 'browser' THEN NEW.`browser`
      WHEN 'referrer' THEN NEW.`referrer_host`
      WHEN 'link' THEN (SELECT `code` FROM `links` WHERE `id` = NEW.`link_id`)
    END, ''),
    1, NEW.`is_unique` <> 0
  FROM (SELECT `column1` AS `grain`, `column2` AS `size` FROM (VALUES ('q', 900000), ('d', 86400000))) AS g,
    (SELECT `column1` AS `dimension` FROM (VALUES (''), ('country'), ('device'), ('os'), ('browser'), ('referrer'), ('link'))) AS d
  WHERE true
  ON CONFLICT DO UPDATE SET
    `clicks` = `clicks` + excluded.`clicks`,
    `unique_clicks` = `unique_clicks` + excluded.`unique_clicks`;
END;
--> statement-breakpoint
-- A conversion counts at its own time, under the country, device, os, browser and referrer of the
-- click it is attributed to and under its link; unattributed, every key is ''. Amounts are summed as
-- given (like the link counters), in micros so that the sums stay exact.
CREATE TRIGGER `conversions_roll_up` AFTER INSERT ON `conversions`
BEGIN
  INSERT INTO `click_rollups`
    (`workspace_id`, `grain`, `dimension`, `bucket`, `campaign_id`, `variant`, `key`, `conversions`, `revenue_micros`)
  SELECT NEW.`workspace_id`, g.`grain`, d.`dimension`, CAST(NEW.`occurred_at` / g.`size` AS INTEGER),
    COALESCE(NEW.`campaign_id`, ''), COALESCE(NEW.`variant`, ''),
    COALESCE(CASE d.`dimension`
      WHEN 'country' THEN c.`country`
      WHEN 'device' THEN c.`device_type`
      WHEN 'os' THEN c.`os`
      WHEN 'browser' THEN c.`browser`
      WHEN 'referrer' THEN c.`referrer_host`
      WHEN 'link' THEN NEW.`link_code`
    END, ''),
    1, CAST(ROUND(COALESCE(NEW.`value`, 0) * 1000000) AS INTEGER)
  FROM (SELECT `column1` AS `grain`, `column2` AS `size` FROM (VALUES ('q', 900000), ('d', 86400000))) AS g,
    (SELECT `column1` AS `dimension` FROM (VALUES (''), ('country'), ('device'), ('os'), ('browser'), ('referrer'), ('link'))) AS d
    LEFT JOIN `clicks` AS c ON c.`id` = NEW.`click_id`
  WHERE true
  ON CONFLICT DO UPDATE SET
    `conversions` = `conversions` + excluded.`conversions`,
    `revenue_micros` = `revenue_micros` + excluded.`revenue_micros`;
END;
