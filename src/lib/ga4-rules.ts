/**
 * The rules a GA4 Measurement Protocol request body for a web data stream must follow, checked before it is
 * sent. The production endpoint answers 2xx to every request, even one it drops or truncates (GA4-T06), so
 * the sender is the only place a malformed body can be caught. Rule ids are those of the GA4 checklist in
 * test/fixtures/ga4/RULES.md.
 *
 * Lengths in characters count Unicode code points. Times (`now`) are Unix milliseconds; `timestamp_micros`
 * values are Unix microseconds.
 */

/** One broken rule: its id (`GA4-N02`), where (`events[0].params.value`), and what is wrong. */
export type Ga4Issue = { rule: string; path: string; message: string };

export const GA4_LIMITS = {
  /** GA4-B06 */
  eventsPerRequest: 25,
  /** GA4-T05: the UTF-8 bytes of `JSON.stringify(body)`, the body as sent, must be fewer than this. */
  bodyBytes: 130_000,
  /** GA4-P01 */
  paramsPerEvent: 25,
  /** GA4-N02, GA4-P02: event and parameter names. */
  nameLength: 40,
  /** GA4-P03, for every parameter but the three page_* ones below. */
  paramValueLength: 100,
  pageTitleLength: 300,
  pageReferrerLength: 420,
  pageLocationLength: 1000,
  /** GA4-P04 */
  itemsPerEvent: 200,
  /** GA4-U01 */
  userProperties: 25,
  /** GA4-U02 */
  userPropertyNameLength: 24,
  /** GA4-U03 */
  userPropertyValueLength: 36,
  /** GA4-B03 */
  userIdLength: 256,
  /** GA4-B05: how far back an event may be dated. */
  maxAgeMs: 72 * 3_600_000,
  /** GA4-B04: timestamps are for past events; this much clock skew past `now` is tolerated. */
  maxFutureSkewMs: 60_000,
  /**
   * GA4-B04: 2000-01-01 in microseconds. A smaller value is not a microsecond time of any event sent today,
   * but milliseconds or seconds (1.7e12 ms reads as 1970-01-21).
   */
  earliestTimestampMicros: 946_684_800_000_000,
} as const;

// GA4-R01: event names reserved for the web and app streams, and the prefixes the SDKs reserve.
const RESERVED_EVENT_NAMES = new Set([
  "ad_activeview",
  "ad_click",
  "ad_exposure",
  "ad_impression",
  "ad_query",
  "ad_reward",
  "adunit_exposure",
  "app_clear_data",
  "app_exception",
  "app_install",
  "app_remove",
  "app_store_refund",
  "app_update",
  "app_upgrade",
  "dynamic_link_app_open",
  "dynamic_link_app_update",
  "dynamic_link_first_open",
  "error",
  "firebase_campaign",
  "firebase_in_app_message_action",
  "firebase_in_app_message_dismiss",
  "firebase_in_app_message_impression",
  "first_open",
  "first_visit",
  "in_app_purchase",
  "notification_dismiss",
  "notification_foreground",
  "notification_open",
  "notification_receive",
  "notification_send",
  "os_update",
  "screen_view",
  "session_start",
  "user_engagement",
]);
const RESERVED_EVENT_PREFIXES = ["firebase_", "google_", "ga_"];

// GA4-R02
const RESERVED_PARAM_NAMES = new Set(["firebase_conversion"]);
const RESERVED_PARAM_PREFIXES = ["_", "firebase_", "ga_", "google_", "gtag."];

// GA4-R03
const RESERVED_USER_PROPERTY_NAMES = new Set([
  "first_open_time",
  "first_visit_time",
  "last_deep_link_referrer",
  "user_id",
  "first_open_after_install",
]);
const RESERVED_USER_PROPERTY_PREFIXES = ["_", "firebase_", "ga_", "google_"];

// GA4-P03: parameters with a larger value limit than the rest.
const LONG_PARAM_VALUES = new Map<string, number>([
  ["page_title", GA4_LIMITS.pageTitleLength],
  ["page_referrer", GA4_LIMITS.pageReferrerLength],
  ["page_location", GA4_LIMITS.pageLocationLength],
]);

// GA4-B08
const CONSENT_KEYS = new Set(["ad_user_data", "ad_personalization"]);
const CONSENT_VALUES = new Set(["GRANTED", "DENIED"]);

// GA4-B11
const VALIDATION_BEHAVIORS = new Set(["RELAXED", "ENFORCE_RECOMMENDATIONS"]);

// GA4-B09, GA4-B10: documented fields, all strings in Google's samples.
const USER_LOCATION_FIELDS = ["city", "region_id", "country_id", "subcontinent_id", "continent_id"];
const DEVICE_FIELDS = [
  "category",
  "language",
  "screen_resolution",
  "operating_system",
  "operating_system_version",
  "model",
  "brand",
  "browser",
  "browser_version",
];

// GA4-N01 to N03, GA4-P02: a letter, then letters, digits and underscores (ASCII).
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Whether `name` may be sent as an event name: GA4-N01 to N03, and not reserved (GA4-R01). */
export function isValidEventName(name: string): boolean {
  return (
    NAME.test(name) &&
    name.length <= GA4_LIMITS.nameLength &&
    !isReserved(name, RESERVED_EVENT_NAMES, RESERVED_EVENT_PREFIXES)
  );
}

/** Whether `name` may be sent as an event or item parameter name: GA4-P02, and not reserved (GA4-R02). */
export function isValidParamName(name: string): boolean {
  return (
    NAME.test(name) &&
    name.length <= GA4_LIMITS.nameLength &&
    !isReserved(name, RESERVED_PARAM_NAMES, RESERVED_PARAM_PREFIXES)
  );
}

/**
 * Every rule `body` breaks as a web-stream request body, `[]` when it breaks none. `now` (Unix ms) is the
 * time the body is sent, against which timestamps are judged.
 */
export function checkMeasurementBody(body: unknown, now: number): Ga4Issue[] {
  const issues: Ga4Issue[] = [];
  const add = (rule: string, path: string, message: string) => issues.push({ rule, path, message });

  // GA4-T04: the body is a JSON object.
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch {
    text = undefined;
  }
  if (!isPlainObject(body) || text === undefined) {
    add("GA4-T04", "", "the body must be an object that serialises to JSON");
    return issues;
  }

  // GA4-T05
  const bytes = utf8Length(text);
  if (bytes >= GA4_LIMITS.bodyBytes) {
    add("GA4-T05", "", `the body is ${bytes} bytes of JSON; it must be fewer than ${GA4_LIMITS.bodyBytes}`);
  }

  // GA4-B01, GA4-B02
  if (!has(body, "client_id")) add("GA4-B01", "client_id", "client_id is required for a web stream");
  else if (typeof body.client_id !== "string" || body.client_id === "") {
    add("GA4-B01", "client_id", "client_id must be a non-empty string");
  }
  if (has(body, "app_instance_id")) {
    add("GA4-B02", "app_instance_id", "app_instance_id belongs to app streams; a web stream uses client_id");
  }

  // GA4-B03
  if (has(body, "user_id")) {
    const userId = body.user_id;
    if (typeof userId !== "string") add("GA4-B03", "user_id", "user_id must be a string");
    else {
      if (charLength(userId) > GA4_LIMITS.userIdLength) {
        add("GA4-B03", "user_id", `user_id has more than ${GA4_LIMITS.userIdLength} characters`);
      }
      if (!isWellFormed(userId)) add("GA4-B03", "user_id", "user_id must be valid UTF-8 (it has a lone surrogate)");
    }
  }

  // GA4-B04, GA4-B05
  if (has(body, "timestamp_micros")) checkTimestamp(body.timestamp_micros, now, "timestamp_micros", true, add);

  // GA4-B06
  if (!has(body, "events")) add("GA4-B06", "events", "events is required");
  else if (!Array.isArray(body.events)) add("GA4-B06", "events", "events must be an array");
  else {
    const events: unknown[] = body.events;
    if (events.length === 0) add("GA4-B06", "events", "events must hold at least one event");
    if (events.length > GA4_LIMITS.eventsPerRequest) {
      add("GA4-B06", "events", `events holds ${events.length} events; at most ${GA4_LIMITS.eventsPerRequest}`);
    }
    events.forEach((event, i) => {
      for (const issue of checkEvent(event, now, `events[${i}]`)) issues.push(issue);
    });
  }

  // GA4-B07, GA4-U01 to U04, GA4-R03
  if (has(body, "user_properties")) checkUserProperties(body.user_properties, now, add);

  // GA4-B08
  if (has(body, "consent")) {
    const consent = body.consent;
    if (!isPlainObject(consent)) add("GA4-B08", "consent", "consent must be an object");
    else {
      for (const [key, value] of Object.entries(consent)) {
        const path = member("consent", key);
        if (!CONSENT_KEYS.has(key)) add("GA4-B08", path, "consent has only ad_user_data and ad_personalization");
        else if (typeof value !== "string" || !CONSENT_VALUES.has(value)) {
          add("GA4-B08", path, 'a consent value is "GRANTED" or "DENIED" (upper case)');
        }
      }
    }
  }

  // GA4-B09, GA4-B10: only the shape; the formats of the codes are not documented.
  if (has(body, "user_location")) {
    checkStringFields(body.user_location, "user_location", USER_LOCATION_FIELDS, "GA4-B09", add);
  }
  if (has(body, "ip_override") && typeof body.ip_override !== "string") {
    add("GA4-B09", "ip_override", "ip_override must be a string");
  }
  if (has(body, "device")) checkStringFields(body.device, "device", DEVICE_FIELDS, "GA4-B10", add);
  if (has(body, "user_agent") && typeof body.user_agent !== "string") {
    add("GA4-B10", "user_agent", "user_agent must be a string");
  }

  // GA4-B11
  if (has(body, "validation_behavior")) {
    const behavior = body.validation_behavior;
    if (typeof behavior !== "string" || !VALIDATION_BEHAVIORS.has(behavior)) {
      add("GA4-B11", "validation_behavior", 'validation_behavior is "RELAXED" or "ENFORCE_RECOMMENDATIONS"');
    }
  }

  return issues;
}

/**
 * Every rule one event breaks on its own, `[]` when it breaks none: its shape, name, parameters and own
 * timestamp. `path` names the event in the issues (`events[3]` inside a body).
 */
export function checkEvent(event: unknown, now: number, path = "event"): Ga4Issue[] {
  const issues: Ga4Issue[] = [];
  const add = (rule: string, at: string, message: string) => issues.push({ rule, path: at, message });

  // GA4-E01
  if (!isPlainObject(event)) {
    add("GA4-E01", path, "an event must be an object");
    return issues;
  }
  const namePath = `${path}.name`;
  if (!has(event, "name")) add("GA4-E01", namePath, "an event needs a name");
  else if (typeof event.name !== "string") add("GA4-E01", namePath, "an event name must be a string");
  else {
    const name = event.name;
    if (name === "") add("GA4-E01", namePath, "an event name must not be empty");
    // GA4-N01
    if (!/^[A-Za-z]/.test(name)) add("GA4-N01", namePath, "an event name must start with a letter");
    // GA4-N02
    if (charLength(name) > GA4_LIMITS.nameLength) {
      add("GA4-N02", namePath, `an event name has at most ${GA4_LIMITS.nameLength} characters`);
    }
    // GA4-N03
    if (!/^[A-Za-z0-9_]*$/.test(name)) {
      add("GA4-N03", namePath, "an event name has only letters, digits and underscores");
    }
    // GA4-R01
    if (isReserved(name, RESERVED_EVENT_NAMES, RESERVED_EVENT_PREFIXES)) {
      add("GA4-R01", namePath, `the event name ${JSON.stringify(name)} is reserved`);
    }
  }

  // GA4-B04, GA4-B05: an event's own timestamp overrides the request's.
  if (has(event, "timestamp_micros")) {
    checkTimestamp(event.timestamp_micros, now, `${path}.timestamp_micros`, true, add);
  }

  if (has(event, "params")) {
    const paramsPath = `${path}.params`;
    const params = event.params;
    if (!isPlainObject(params)) add("GA4-E01", paramsPath, "params must be an object");
    else {
      const entries = Object.entries(params);
      // GA4-P01
      if (entries.length > GA4_LIMITS.paramsPerEvent) {
        add("GA4-P01", paramsPath, `an event has ${entries.length} params; at most ${GA4_LIMITS.paramsPerEvent}`);
      }
      for (const [name, value] of entries) {
        const at = member(paramsPath, name);
        if (name === "items") checkItems(value, at, add);
        else checkParam(name, value, at, add);
      }
    }
  }

  return issues;
}

type Add = (rule: string, path: string, message: string) => void;

/** GA4-P02 to P04 and GA4-R02 for one event or item parameter. */
function checkParam(name: string, value: unknown, path: string, add: Add): void {
  checkParamName(name, path, add);
  // GA4-P04
  if (!isScalar(value)) {
    add("GA4-P04", path, "a parameter value is a string, a finite number or a boolean");
    return;
  }
  // GA4-P03
  const limit = LONG_PARAM_VALUES.get(name) ?? GA4_LIMITS.paramValueLength;
  if (typeof value === "string" && charLength(value) > limit) {
    add("GA4-P03", path, `a ${name} value has at most ${limit} characters`);
  }
}

/** GA4-P02 and GA4-R02 for a parameter name. */
function checkParamName(name: string, path: string, add: Add): void {
  if (!NAME.test(name)) {
    add("GA4-P02", path, "a parameter name starts with a letter and has only letters, digits and underscores");
  }
  if (charLength(name) > GA4_LIMITS.nameLength) {
    add("GA4-P02", path, `a parameter name has at most ${GA4_LIMITS.nameLength} characters`);
  }
  if (isReserved(name, RESERVED_PARAM_NAMES, RESERVED_PARAM_PREFIXES)) {
    add("GA4-R02", path, `the parameter name ${JSON.stringify(name)} is reserved`);
  }
}

/** GA4-P04: `items`, the only array parameter, of objects whose parameters follow GA4-P02 to P04 and R02. */
function checkItems(items: unknown, path: string, add: Add): void {
  if (!Array.isArray(items)) {
    add("GA4-P04", path, "items must be an array of objects");
    return;
  }
  if (items.length > GA4_LIMITS.itemsPerEvent) {
    add("GA4-P04", path, `items holds ${items.length} items; at most ${GA4_LIMITS.itemsPerEvent}`);
  }
  items.forEach((item: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isPlainObject(item)) add("GA4-P04", at, "an item must be an object");
    else for (const [name, value] of Object.entries(item)) checkParam(name, value, member(at, name), add);
  });
}

/** GA4-B07, GA4-U01 to U04 and GA4-R03. */
function checkUserProperties(properties: unknown, now: number, add: Add): void {
  const path = "user_properties";
  if (!isPlainObject(properties)) {
    add("GA4-B07", path, "user_properties must be an object");
    return;
  }
  const entries = Object.entries(properties);
  // GA4-U01
  if (entries.length > GA4_LIMITS.userProperties) {
    add("GA4-U01", path, `${entries.length} user properties; at most ${GA4_LIMITS.userProperties}`);
  }
  for (const [name, property] of entries) {
    const at = member(path, name);
    // GA4-U02
    if (charLength(name) > GA4_LIMITS.userPropertyNameLength) {
      add("GA4-U02", at, `a user property name has at most ${GA4_LIMITS.userPropertyNameLength} characters`);
    }
    // GA4-R03
    if (isReserved(name, RESERVED_USER_PROPERTY_NAMES, RESERVED_USER_PROPERTY_PREFIXES)) {
      add("GA4-R03", at, `the user property name ${JSON.stringify(name)} is reserved`);
    }
    // GA4-U04: {"value": ...}, never a bare value.
    if (!isPlainObject(property) || !has(property, "value")) {
      add("GA4-U04", at, 'a user property is an object {"value": ...}');
      continue;
    }
    const value = property.value;
    // A null value is left alone: whether it clears the property is not documented for the protocol.
    if (value !== null && !isScalar(value)) {
      add("GA4-U04", `${at}.value`, "a user property value is a string, a finite number or a boolean");
    }
    // GA4-U03
    if (typeof value === "string" && charLength(value) > GA4_LIMITS.userPropertyValueLength) {
      add(
        "GA4-U03",
        `${at}.value`,
        `a user property value has at most ${GA4_LIMITS.userPropertyValueLength} characters`,
      );
    }
    // GA4-B07, GA4-B04: its own timestamp. The 72 h limit (B05) is documented for events only.
    if (has(property, "timestamp_micros")) {
      checkTimestamp(property.timestamp_micros, now, `${at}.timestamp_micros`, false, add);
    }
  }
}

/**
 * GA4-B04: a positive integer of microseconds, not in the future beyond the skew allowed; and with `event`,
 * GA4-B05: at most 72 hours before `now`.
 */
function checkTimestamp(value: unknown, now: number, path: string, event: boolean, add: Add): void {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    add("GA4-B04", path, "timestamp_micros is a positive integer number of microseconds");
    return;
  }
  const ms = value / 1000;
  if (value < GA4_LIMITS.earliestTimestampMicros) {
    add("GA4-B04", path, "timestamp_micros is too small for microseconds: it looks like milliseconds or seconds");
  } else if (ms > now + GA4_LIMITS.maxFutureSkewMs) {
    add("GA4-B04", path, "timestamp_micros is in the future; it dates past events only");
  }
  if (event && ms < now - GA4_LIMITS.maxAgeMs) {
    add("GA4-B05", path, "timestamp_micros is more than 72 hours before now");
  }
}

/** GA4-B09, GA4-B10: an object whose documented fields, when present, are strings. */
function checkStringFields(value: unknown, path: string, fields: string[], rule: string, add: Add): void {
  if (!isPlainObject(value)) {
    add(rule, path, `${path} must be an object`);
    return;
  }
  for (const field of fields) {
    if (has(value, field) && typeof value[field] !== "string") {
      add(rule, `${path}.${field}`, `${field} must be a string`);
    }
  }
}

function has(object: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(object, key);
}

function isReserved(name: string, names: Set<string>, prefixes: string[]): boolean {
  return names.has(name) || prefixes.some((prefix) => name.startsWith(prefix));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isScalar(value: unknown): value is string | number | boolean {
  return (
    typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))
  );
}

/** `base.key`, or `base["key"]` when `key` is not an identifier. */
function member(base: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

/** Characters as code points: a character outside the BMP counts once. */
function charLength(text: string): number {
  let surrogatePairs = 0;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        surrogatePairs++;
        i++;
      }
    }
  }
  return text.length - surrogatePairs;
}

/** Whether `text` has no lone surrogate, so that it encodes to UTF-8 as it is. */
function isWellFormed(text: string): boolean {
  return !/\p{Surrogate}/u.test(text);
}

/** The length of `text` in UTF-8 bytes. */
function utf8Length(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}
