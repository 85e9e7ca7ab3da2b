import type { DatePeriod } from "../lib/calendar";

/** Retention's cohorts and returns are counted per local day, Monday week or month, numbered as the calendar does. */
export type RetentionPeriod = DatePeriod;

export { periodIndex, periodStartAt } from "../lib/calendar";
