/// <reference types="vite/client" />
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkEvent,
  checkMeasurementBody,
  GA4_LIMITS,
  isValidEventName,
  isValidParamName,
  type Ga4Issue,
} from "../src/lib/ga4-rules";
import examplesJson from "./fixtures/ga4/EXAMPLES.json?raw";

// Google's Measurement Protocol samples and bodies constructed from its documented rules, each indexed with the
// rule ids it illustrates or breaks (see test/fixtures/ga4/README.md).
const bodies = Object.fromEntries(
  Object.entries(
    import.meta.glob<string>(["./fixtures/ga4/valid/*.json", "./fixtures/ga4/invalid/*.json"], {
      query: "?raw",
      import: "default",
      eager: true,
    }),
  ).map(([path, text]) => [path.replace("./fixtures/ga4/", ""), text]),
);

type Example = { file: string; kind: "valid" | "invalid"; rules: string[] };
const examples = (JSON.parse(examplesJson) as { examples: Example[] }).examples;
const valid = examples.filter((example) => example.kind === "valid");
const invalid = examples.filter((example) => example.kind === "invalid");

// None of the valid bodies carries a timestamp, and the invalid ones' timestamps are too old at any time.
const NOW = Date.UTC(2026, 6, 1, 12, 0, 0);
const HOUR = 3_600_000;

const rules = (issues: Ga4Issue[]) => [...new Set(issues.map((issue) => issue.rule))].sort();
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

/** A valid body: one event with one parameter, plus `extra` at the top level. */
function body(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_id: "1234567890.1767225600",
    events: [{ name: "wa_link_click", params: { engagement_time_msec: 1 } }],
    ...extra,
  };
}

/** A valid body of one event with `params`. */
const withParams = (params: Record<string, unknown>) => body({ events: [{ name: "wa_link_click", params }] });

const numbered = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("the corpus", () => {
  it("indexes every body in valid/ and invalid/, and nothing else", () => {
    expect(examples.map((example) => example.file).sort()).toEqual(Object.keys(bodies).sort());
    expect(valid.length).toBeGreaterThan(0);
    expect(invalid.length).toBeGreaterThan(0);
  });

  it.each(valid.map((example) => [example.file]))("%s breaks no rule", (file) => {
    expect(checkMeasurementBody(JSON.parse(bodies[file]), NOW)).toEqual([]);
  });

  it.each(invalid.map((example) => [example.file, example.rules]))(
    "%s breaks exactly the rules %j",
    (file, expected) => {
      const issues = checkMeasurementBody(JSON.parse(bodies[file]), NOW);
      expect(issues.length).toBeGreaterThan(0);
      expect(rules(issues)).toEqual([...expected].sort());
    },
  );

  it("points Google's documented failure at the event name", () => {
    const issues = checkMeasurementBody(
      JSON.parse(bodies["invalid/google_sample_bad_event_name_underscore.json"]),
      NOW,
    );
    expect(issues).toEqual([{ rule: "GA4-N01", path: "events[0].name", message: expect.any(String) }]);
  });
});

describe("limits", () => {
  it("takes 25 events in a request, not 26", () => {
    const events = (n: number) => numbered("wa_event_", n).map((name) => ({ name }));
    expect(checkMeasurementBody(body({ events: events(25) }), NOW)).toEqual([]);
    expect(rules(checkMeasurementBody(body({ events: events(26) }), NOW))).toEqual(["GA4-B06"]);
  });

  it("takes 25 params in an event, not 26", () => {
    const params = (n: number) => Object.fromEntries(numbered("param_", n).map((name, i) => [name, i]));
    expect(checkMeasurementBody(withParams(params(25)), NOW)).toEqual([]);
    expect(checkMeasurementBody(withParams(params(26)), NOW)).toEqual([
      { rule: "GA4-P01", path: "events[0].params", message: expect.any(String) },
    ]);
  });

  it("takes 25 user properties, not 26", () => {
    const properties = (n: number) => Object.fromEntries(numbered("up_", n).map((name) => [name, { value: "x" }]));
    expect(checkMeasurementBody(body({ user_properties: properties(25) }), NOW)).toEqual([]);
    expect(rules(checkMeasurementBody(body({ user_properties: properties(26) }), NOW))).toEqual(["GA4-U01"]);
  });

  it("takes event names of 40 characters, not 41", () => {
    const event = (length: number) => ({ name: "e".repeat(length) });
    expect(checkEvent(event(40), NOW)).toEqual([]);
    expect(checkEvent(event(41), NOW)).toEqual([{ rule: "GA4-N02", path: "event.name", message: expect.any(String) }]);
    expect(isValidEventName("e".repeat(40))).toBe(true);
    expect(isValidEventName("e".repeat(41))).toBe(false);
  });

  it("takes param names of 40 characters, not 41", () => {
    expect(checkMeasurementBody(withParams({ ["p".repeat(40)]: 1 }), NOW)).toEqual([]);
    expect(rules(checkMeasurementBody(withParams({ ["p".repeat(41)]: 1 }), NOW))).toEqual(["GA4-P02"]);
    expect(isValidParamName("p".repeat(40))).toBe(true);
    expect(isValidParamName("p".repeat(41))).toBe(false);
  });

  it("takes param values of 100 characters, not 101", () => {
    expect(checkMeasurementBody(withParams({ campaign: "v".repeat(100) }), NOW)).toEqual([]);
    expect(checkMeasurementBody(withParams({ campaign: "v".repeat(101) }), NOW)).toEqual([
      { rule: "GA4-P03", path: "events[0].params.campaign", message: expect.any(String) },
    ]);
  });

  it("counts characters, not UTF-16 units or bytes", () => {
    expect(checkMeasurementBody(withParams({ campaign: "🎉".repeat(100) }), NOW)).toEqual([]);
    expect(checkMeasurementBody(withParams({ campaign: "€".repeat(100) }), NOW)).toEqual([]);
    expect(rules(checkMeasurementBody(withParams({ campaign: "🎉".repeat(101) }), NOW))).toEqual(["GA4-P03"]);
  });

  it.each([
    ["page_title", 300],
    ["page_referrer", 420],
    ["page_location", 1000],
  ])("takes %s values of %i characters, and no more", (name, limit) => {
    expect(checkMeasurementBody(withParams({ [name]: "a".repeat(limit) }), NOW)).toEqual([]);
    expect(rules(checkMeasurementBody(withParams({ [name]: "a".repeat(limit + 1) }), NOW))).toEqual(["GA4-P03"]);
  });

  it("takes user property names of 24 characters and values of 36, and no more", () => {
    const check = (name: string, value: string) =>
      rules(checkMeasurementBody(body({ user_properties: { [name]: { value } } }), NOW));
    expect(check("u".repeat(24), "w".repeat(36))).toEqual([]);
    expect(check("u".repeat(25), "w".repeat(36))).toEqual(["GA4-U02"]);
    expect(check("u".repeat(24), "w".repeat(37))).toEqual(["GA4-U03"]);
  });

  it("takes a user_id of 256 characters, not 257", () => {
    expect(checkMeasurementBody(body({ user_id: "u".repeat(256) }), NOW)).toEqual([]);
    expect(rules(checkMeasurementBody(body({ user_id: "u".repeat(257) }), NOW))).toEqual(["GA4-B03"]);
  });

  it("takes 200 items in an event, not 201", () => {
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ item_id: `sku_${i}`, price: 9.9 }));
    expect(checkMeasurementBody(withParams({ currency: "BRL", items: items(200) }), NOW)).toEqual([]);
    expect(checkMeasurementBody(withParams({ items: items(201) }), NOW)).toEqual([
      { rule: "GA4-P04", path: "events[0].params.items", message: expect.any(String) },
    ]);
  });

  describe("body size, counted as the UTF-8 bytes of JSON.stringify(body)", () => {
    /**
     * A body of 25 events of 25 params each (valid in every other way) that serialises to exactly `target`
     * bytes: values of up to 99 three-byte characters, topped up with one-byte ones.
     */
    function bodyOfBytes(target: number): Record<string, unknown> {
      const events = numbered("wa_event_", 25).map((name) => ({
        name,
        params: Object.fromEntries(numbered("p_", 25).map((param) => [param, ""])),
      }));
      const request = body({ events });
      let remaining = target - bytes(request);
      for (const event of events) {
        for (const param of Object.keys(event.params)) {
          const take = Math.min(remaining, 297);
          event.params[param] = "€".repeat(Math.floor(take / 3)) + "a".repeat(take % 3);
          remaining -= take;
        }
      }
      expect(remaining).toBe(0);
      expect(bytes(request)).toBe(target);
      return request;
    }

    it("takes a body of 129,999 bytes", () => {
      expect(checkMeasurementBody(bodyOfBytes(GA4_LIMITS.bodyBytes - 1), NOW)).toEqual([]);
    });

    it("refuses a body of 130,000 bytes", () => {
      expect(checkMeasurementBody(bodyOfBytes(GA4_LIMITS.bodyBytes), NOW)).toEqual([
        { rule: "GA4-T05", path: "", message: expect.any(String) },
      ]);
    });
  });
});

describe("timestamps", () => {
  const micros = (ms: number) => ms * 1000;

  it("take an event 72 hours old less a second, not 72 hours and a second", () => {
    const fresh = micros(NOW - 72 * HOUR + 1000);
    const stale = micros(NOW - 72 * HOUR - 1000);
    expect(checkMeasurementBody(body({ timestamp_micros: fresh }), NOW)).toEqual([]);
    expect(checkMeasurementBody(body({ timestamp_micros: stale }), NOW)).toEqual([
      { rule: "GA4-B05", path: "timestamp_micros", message: expect.any(String) },
    ]);
    expect(checkEvent({ name: "wa_link_click", timestamp_micros: fresh }, NOW)).toEqual([]);
    expect(checkEvent({ name: "wa_link_click", timestamp_micros: stale }, NOW, "events[2]")).toEqual([
      { rule: "GA4-B05", path: "events[2].timestamp_micros", message: expect.any(String) },
    ]);
  });

  it("refuse milliseconds", () => {
    expect(rules(checkMeasurementBody(body({ timestamp_micros: NOW }), NOW))).toEqual(["GA4-B04", "GA4-B05"]);
    expect(rules(checkEvent({ name: "wa_link_click", timestamp_micros: NOW - HOUR }, NOW))).toEqual([
      "GA4-B04",
      "GA4-B05",
    ]);
  });

  it("allow a minute of clock skew, and no more", () => {
    expect(checkMeasurementBody(body({ timestamp_micros: micros(NOW + 60_000) }), NOW)).toEqual([]);
    expect(rules(checkMeasurementBody(body({ timestamp_micros: micros(NOW + 61_000) }), NOW))).toEqual(["GA4-B04"]);
  });

  it.each([
    ["a string", String(NOW * 1000)],
    ["a fraction", NOW * 1000 + 0.5],
    ["zero", 0],
    ["negative", -1],
    ["nanoseconds", NOW * 1_000_000],
    ["null", null],
  ])("refuse %s", (_, value) => {
    expect(rules(checkMeasurementBody(body({ timestamp_micros: value }), NOW))).toContain("GA4-B04");
  });

  it("check a user property's own timestamp for its format only", () => {
    const property = (timestamp_micros: unknown) =>
      body({ user_properties: { tier: { value: "gold", timestamp_micros } } });
    expect(checkMeasurementBody(property(micros(NOW - HOUR)), NOW)).toEqual([]);
    expect(checkMeasurementBody(property(micros(NOW - 100 * HOUR)), NOW)).toEqual([]);
    expect(checkMeasurementBody(property(NOW), NOW)).toEqual([
      { rule: "GA4-B04", path: "user_properties.tier.timestamp_micros", message: expect.any(String) },
    ]);
  });
});

describe("fields of the body", () => {
  it.each([
    ["an array", []],
    ["null", null],
    ["a string", "{}"],
    ["a number", 1],
    ["undefined", undefined],
  ])("refuses %s as the body", (_, value) => {
    expect(checkMeasurementBody(value, NOW)).toEqual([{ rule: "GA4-T04", path: "", message: expect.any(String) }]);
  });

  it.each([
    ["an empty client_id", { client_id: "" }],
    ["a numeric client_id", { client_id: 1234567890.17 }],
    ["a null client_id", { client_id: null }],
  ])("refuses %s", (_, extra) => {
    expect(rules(checkMeasurementBody(body(extra), NOW))).toEqual(["GA4-B01"]);
  });

  it("refuses an app stream's app_instance_id, with or without client_id", () => {
    expect(rules(checkMeasurementBody(body({ app_instance_id: "cbd7e4e0a8f0a5f4" }), NOW))).toEqual(["GA4-B02"]);
    const appBody = body({ app_instance_id: "cbd7e4e0a8f0a5f4" });
    delete appBody.client_id;
    expect(rules(checkMeasurementBody(appBody, NOW))).toEqual(["GA4-B01", "GA4-B02"]);
  });

  it.each([
    ["a number", 42],
    ["a lone surrogate", "lead\ud800"],
  ])("refuses a user_id that is %s", (_, userId) => {
    expect(rules(checkMeasurementBody(body({ user_id: userId }), NOW))).toEqual(["GA4-B03"]);
  });

  it("takes the two consent keys, each GRANTED or DENIED, and nothing else", () => {
    const check = (consent: unknown) => rules(checkMeasurementBody(body({ consent }), NOW));
    expect(check({ ad_user_data: "DENIED", ad_personalization: "GRANTED" })).toEqual([]);
    expect(check({ ad_user_data: "GRANTED" })).toEqual([]);
    expect(check({ ad_user_data: "granted" })).toEqual(["GA4-B08"]);
    expect(check({ ad_user_data: true })).toEqual(["GA4-B08"]);
    expect(check({ ad_storage: "GRANTED" })).toEqual(["GA4-B08"]);
    expect(check("GRANTED")).toEqual(["GA4-B08"]);
  });

  it("takes only the two validation behaviours", () => {
    const check = (validation_behavior: unknown) => rules(checkMeasurementBody(body({ validation_behavior }), NOW));
    expect(check("RELAXED")).toEqual([]);
    expect(check("ENFORCE_RECOMMENDATIONS")).toEqual([]);
    expect(check("relaxed")).toEqual(["GA4-B11"]);
    expect(check(null)).toEqual(["GA4-B11"]);
  });

  it("requires events to be an array", () => {
    expect(rules(checkMeasurementBody(body({ events: { name: "wa_link_click" } }), NOW))).toEqual(["GA4-B06"]);
  });

  it("requires user_properties to be an object of {value} objects", () => {
    const check = (user_properties: unknown) => checkMeasurementBody(body({ user_properties }), NOW);
    expect(check({ tier: { value: 3 } })).toEqual([]);
    expect(check({ tier: { value: null } })).toEqual([]);
    expect(rules(check([{ value: "x" }]))).toEqual(["GA4-B07"]);
    expect(check({ tier: {} })).toEqual([
      { rule: "GA4-U04", path: "user_properties.tier", message: expect.any(String) },
    ]);
    expect(check({ tier: { value: ["a"] } })).toEqual([
      { rule: "GA4-U04", path: "user_properties.tier.value", message: expect.any(String) },
    ]);
  });

  it.each([
    "first_open_time",
    "first_visit_time",
    "last_deep_link_referrer",
    "first_open_after_install",
    "_tier",
    "ga_tier",
    "google_tier",
    "firebase_tier",
  ])("refuses the reserved user property name %s", (name) => {
    expect(rules(checkMeasurementBody(body({ user_properties: { [name]: { value: "x" } } }), NOW))).toEqual([
      "GA4-R03",
    ]);
  });

  it("checks only the shape of user_location and device", () => {
    expect(
      checkMeasurementBody(body({ user_location: { country_id: "BR" }, ip_override: "203.0.113.7" }), NOW),
    ).toEqual([]);
    expect(rules(checkMeasurementBody(body({ user_location: "BR" }), NOW))).toEqual(["GA4-B09"]);
    expect(rules(checkMeasurementBody(body({ device: { category: 1 } }), NOW))).toEqual(["GA4-B10"]);
    expect(rules(checkMeasurementBody(body({ user_agent: 1 }), NOW))).toEqual(["GA4-B10"]);
  });
});

describe("events", () => {
  it.each([
    ["a string", "wa_link_click", "GA4-E01"],
    ["an event without a name", { params: {} }, "GA4-E01"],
    ["a numeric name", { name: 1 }, "GA4-E01"],
    ["params that are an array", { name: "wa_link_click", params: [] }, "GA4-E01"],
  ])("refuses %s", (_, event, rule) => {
    expect(rules(checkEvent(event, NOW))).toEqual([rule]);
  });

  it("names the event it checks in the paths", () => {
    expect(checkEvent({ name: "wa-click", params: { "link-id": "x" } }, NOW, "events[4]")).toEqual([
      { rule: "GA4-N03", path: "events[4].name", message: expect.any(String) },
      { rule: "GA4-P02", path: 'events[4].params["link-id"]', message: expect.any(String) },
    ]);
  });

  it("finds every event's issues in a body", () => {
    const events = [{ name: "wa_ok" }, { name: "session_start" }, { name: "wa_ok", params: { value: [1] } }];
    expect(checkMeasurementBody(body({ events }), NOW).map(({ rule, path }) => [rule, path])).toEqual([
      ["GA4-R01", "events[1].name"],
      ["GA4-P04", "events[2].params.value"],
    ]);
  });

  it.each([
    ["an object", { amount: 1 }],
    ["an array other than items", [1, 2]],
    ["null", null],
    ["NaN", NaN],
    ["Infinity", Infinity],
  ])("refuses %s as a param value", (_, value) => {
    expect(rules(checkMeasurementBody(withParams({ value }), NOW))).toEqual(["GA4-P04"]);
  });

  it("checks the params of items like those of events", () => {
    const check = (item: unknown) => checkMeasurementBody(withParams({ items: [{ item_id: "sku" }, item] }), NOW);
    expect(check({ item_name: "Shoes", quantity: 2, on_sale: true })).toEqual([]);
    expect(check({ "item-name": "x" }).map(({ rule, path }) => [rule, path])).toEqual([
      ["GA4-P02", 'events[0].params.items[1]["item-name"]'],
    ]);
    expect(rules(check({ google_x: "x" }))).toEqual(["GA4-R02"]);
    expect(rules(check({ item_name: "n".repeat(101) }))).toEqual(["GA4-P03"]);
    expect(rules(check({ item_name: { en: "Shoes" } }))).toEqual(["GA4-P04"]);
    expect(rules(check("sku_2"))).toEqual(["GA4-P04"]);
    expect(rules(checkMeasurementBody(withParams({ items: "sku" }), NOW))).toEqual(["GA4-P04"]);
  });
});

describe("names", () => {
  it.each(["login", "wa_link_click", "A", "a1_", "Purchase", "page_view", "click", "e".repeat(40)])(
    "%s is a valid event name",
    (name) => {
      expect(isValidEventName(name)).toBe(true);
    },
  );

  it.each([
    "",
    "_badEventName",
    "1st_click",
    "wa-link-click",
    "link click",
    "wa.click",
    "évènement",
    "e".repeat(41),
    // GA4-R01: the web list, the app-stream additions, and the reserved prefixes.
    "session_start",
    "first_visit",
    "user_engagement",
    "error",
    "screen_view",
    "ad_impression",
    "in_app_purchase",
    "firebase_link_click",
    "google_click",
    "ga_click",
  ])("%j is not a valid event name", (name) => {
    expect(isValidEventName(name)).toBe(false);
  });

  it.each(["link_id", "value", "session_id", "engagement_time_msec", "debug_mode", "p".repeat(40)])(
    "%s is a valid param name",
    (name) => {
      expect(isValidParamName(name)).toBe(true);
    },
  );

  it.each([
    "",
    "_internal",
    "1st",
    "link-id",
    "gtag.config",
    "p".repeat(41),
    "firebase_conversion",
    "firebase_x",
    "ga_session_custom",
    "google_campaign",
  ])("%j is not a valid param name", (name) => {
    expect(isValidParamName(name)).toBe(false);
  });

  it("treats names of Object.prototype as plain names", () => {
    expect(isValidEventName("constructor")).toBe(true);
    expect(checkMeasurementBody(withParams({ constructor: "x", toString: "y" }), NOW)).toEqual([]);
    expect(
      rules(checkMeasurementBody(JSON.parse('{"__proto__": {"client_id": "1.2"}, "events": [{"name": "e"}]}'), NOW)),
    ).toEqual(["GA4-B01"]);
  });
});

describe("any JSON", () => {
  it("never makes checkMeasurementBody throw", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const issues = checkMeasurementBody(value, NOW);
        expect(Array.isArray(issues)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("never makes checkMeasurementBody throw on bodies shaped like requests", () => {
    const anyJson = fc.jsonValue({ maxDepth: 3 });
    const event = fc.oneof(
      anyJson,
      fc.record(
        {
          name: fc.oneof(fc.string(), anyJson),
          params: fc.oneof(
            fc.dictionary(
              fc.string(),
              fc.oneof(anyJson, fc.array(fc.dictionary(fc.string(), anyJson), { maxLength: 3 })),
            ),
            anyJson,
          ),
          timestamp_micros: fc.oneof(fc.integer(), fc.double(), anyJson),
        },
        { requiredKeys: [] },
      ),
    );
    const request = fc.record(
      {
        client_id: fc.oneof(fc.string(), anyJson),
        user_id: fc.oneof(fc.string(), anyJson),
        timestamp_micros: fc.oneof(fc.integer(), fc.maxSafeNat(), anyJson),
        events: fc.oneof(fc.array(event, { maxLength: 30 }), anyJson),
        user_properties: fc.oneof(
          fc.dictionary(fc.string(), fc.oneof(fc.record({ value: anyJson }), anyJson)),
          anyJson,
        ),
        consent: fc.oneof(fc.dictionary(fc.string(), anyJson), anyJson),
        validation_behavior: anyJson,
        user_location: anyJson,
        device: anyJson,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(request, (value) => {
        for (const found of checkMeasurementBody(value, NOW)) {
          expect(found).toEqual({
            rule: expect.stringMatching(/^GA4-[A-Z]\d\d$/),
            path: expect.any(String),
            message: expect.any(String),
          });
        }
      }),
      { numRuns: 500 },
    );
  });
});
