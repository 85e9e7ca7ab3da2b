-- Link counters follow the rows in `clicks`: an insert that is ignored as a duplicate
-- (a retried or replayed click with the same id) fires nothing, so counters never double-count.
CREATE TRIGGER `clicks_count_on_link` AFTER INSERT ON `clicks`
BEGIN
  UPDATE `links` SET
    `clicks` = `clicks` + (NEW.`kind` = 'click'),
    `unique_clicks` = `unique_clicks` + (NEW.`kind` = 'click' AND NEW.`is_unique`),
    `previews` = `previews` + (NEW.`kind` = 'preview'),
    `bots` = `bots` + (NEW.`kind` = 'bot')
  WHERE `id` = NEW.`link_id`;
END;
