-- Attributed conversions count on their link, like clicks: a repeated (event, orderId) never inserts,
-- so it never counts twice. REAL sums are rounded to keep decimal amounts tidy.
CREATE TRIGGER `conversions_count_on_link` AFTER INSERT ON `conversions`
WHEN NEW.`link_id` IS NOT NULL
BEGIN
  UPDATE `links` SET
    `conversions` = `conversions` + 1,
    `revenue` = ROUND(`revenue` + COALESCE(NEW.`value`, 0), 6)
  WHERE `id` = NEW.`link_id`;
END;
