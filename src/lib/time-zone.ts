/**
 * The runtime's name for an IANA time zone, with its case and aliases resolved (workerd's ICU names
 * Asia/Kolkata "Asia/Calcutta"), or null when the runtime knows no such zone.
 */
export function canonicalTimeZone(timeZone: string): string | null {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}
