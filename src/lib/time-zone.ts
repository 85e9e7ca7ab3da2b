/** The canonical name of an IANA time zone ("asia/calcutta" → "Asia/Kolkata" where the runtime knows it), or null. */
export function canonicalTimeZone(timeZone: string): string | null {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}
