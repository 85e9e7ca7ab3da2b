/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { classifyUserAgent, describeUserAgent, type TrafficKind, type UserAgentDetails } from "../src/lib/user-agent";
import ambiguousTsv from "./fixtures/ua/ambiguous.tsv?raw";
import botsTxt from "./fixtures/ua/bots.txt?raw";
import expectedTsv from "./fixtures/ua/expected.tsv?raw";
import humansTxt from "./fixtures/ua/humans.txt?raw";
import linkPreviewTsv from "./fixtures/ua/link_preview.tsv?raw";

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line !== "");
}

function tsv(text: string): Record<string, string>[] {
  const [header, ...rows] = lines(text).map((line) => line.split("\t"));
  return rows.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i] ?? ""])));
}

// The labelled preview corpus also files search and ads crawlers (result cards); they are counted as
// bots, since nobody shared the link. Everything else in it is a chat or social preview fetcher.
const SEARCH_CRAWLER_SERVICE = /^(?:Google \(search|Bing \/ Microsoft search|Apple \(Applebot\))/;
const previewRows = tsv(linkPreviewTsv);
const previewSet = previewRows.filter((row) => !SEARCH_CRAWLER_SERVICE.test(row.service)).map((row) => row.user_agent);
const searchCrawlerSet = previewRows
  .filter((row) => SEARCH_CRAWLER_SERVICE.test(row.service))
  .map((row) => row.user_agent);
const botSet = lines(botsTxt);
const humanSet = lines(humansTxt);
const ambiguous = tsv(ambiguousTsv).map((row) => row.user_agent);

const IMESSAGE_PREVIEW =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0";

type Tally = Record<TrafficKind, number> & {
  total: number;
  byKind: Record<TrafficKind, string[]>;
};

function tally(userAgents: string[]): Tally {
  const byKind: Tally["byKind"] = { human: [], preview: [], bot: [] };
  for (const ua of userAgents) byKind[classifyUserAgent(ua)].push(ua);
  return {
    total: userAgents.length,
    byKind,
    human: byKind.human.length,
    preview: byKind.preview.length,
    bot: byKind.bot.length,
  };
}

const share = (count: number, t: Tally) => count / t.total;
const examples = (t: Tally, kind: TrafficKind) => t.byKind[kind].slice(0, 10);

describe("classifyUserAgent", () => {
  const previews = tally(previewSet);
  const searchCrawlers = tally(searchCrawlerSet);
  const bots = tally(botSet);
  const humans = tally(humanSet);

  it("reports its accuracy on the real user-agent corpus", () => {
    const row = (name: string, t: Tally) =>
      `${name.padEnd(12)}${String(t.total).padStart(7)}${String(t.human).padStart(8)}${String(t.preview).padStart(9)}${String(t.bot).padStart(7)}`;
    console.log(
      [
        "classifyUserAgent on test/fixtures/ua (rows: labelled set, columns: classified as)",
        `${"set".padEnd(12)}${"total".padStart(7)}${"human".padStart(8)}${"preview".padStart(9)}${"bot".padStart(7)}`,
        row("preview set", previews),
        row("search bots", searchCrawlers),
        row("bot set", bots),
        row("human set", humans),
      ].join("\n"),
    );
    expect(previews.total).toBeGreaterThan(200);
    expect(searchCrawlers.total).toBeGreaterThan(100);
    expect(bots.total).toBeGreaterThan(3000);
    expect(humans.total).toBeGreaterThan(1500);
  });

  it("does not count link-preview fetches as clicks (at most 1 % of the corpus)", () => {
    expect(
      share(previews.human, previews),
      `previews taken for humans: ${examples(previews, "human").join("\n")}`,
    ).toBeLessThanOrEqual(0.01);
  });

  it("reports link-preview fetches as previews, not as other bots (at least 99 %)", () => {
    expect(
      share(previews.preview, previews),
      `previews not reported as previews: ${[...examples(previews, "bot"), ...examples(previews, "human")].join("\n")}`,
    ).toBeGreaterThanOrEqual(0.99);
  });

  it("counts search and ads crawlers as bots, neither clicks nor previews (at least 99 %)", () => {
    expect(
      share(searchCrawlers.bot, searchCrawlers),
      `search crawlers not reported as bots: ${[...examples(searchCrawlers, "preview"), ...examples(searchCrawlers, "human")].join("\n")}`,
    ).toBeGreaterThanOrEqual(0.99);
  });

  it("does not count crawlers and scripts as clicks (at most 1 % of the corpus)", () => {
    expect(share(bots.human, bots), `bots taken for humans: ${examples(bots, "human").join("\n")}`).toBeLessThanOrEqual(
      0.01,
    );
  });

  it("counts real browsers and in-app browsers as clicks (at least 99 %)", () => {
    const nonHuman = humans.preview + humans.bot;
    expect(
      share(nonHuman, humans),
      `humans taken for previews/bots: ${[...examples(humans, "preview"), ...examples(humans, "bot")].join("\n")}`,
    ).toBeLessThanOrEqual(0.01);
  });

  describe("policy for disputed user agents", () => {
    const whatsAppDesktop = ambiguous.filter((ua) => /WhatsApp\/[\d.]+ Chrome\/.* Electron\//.test(ua));

    it.each(whatsAppDesktop)("counts WhatsApp Desktop (Electron) opening the link as a click: %s", (ua) => {
      expect(classifyUserAgent(ua)).toBe("human");
    });

    it("finds the WhatsApp Desktop samples in the corpus", () => {
      expect(whatsAppDesktop.length).toBeGreaterThanOrEqual(2);
      expect(whatsAppDesktop).toContain(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) WhatsApp/2.2019.8 Chrome/80.0.3987.141 Electron/8.1.1 Safari/537.36",
      );
    });

    it("counts the WhatsApp iOS fetcher that Matomo calls an app as a preview", () => {
      expect(ambiguous).toContain("WhatsApp/2.22.9.76 i");
      expect(classifyUserAgent("WhatsApp/2.22.9.76 i")).toBe("preview");
    });
  });

  const whatsAppInAppBrowsers = humanSet.filter((ua) => /\[(?:WA4A|WAiOS)\//.test(ua));

  it("has real WhatsApp in-app browser samples to test against", () => {
    expect(whatsAppInAppBrowsers).toHaveLength(2);
  });

  const cases: {
    name: string;
    ua: string | null | undefined;
    kind: TrafficKind;
  }[] = [
    {
      name: "WhatsApp's Android preview fetcher",
      ua: "WhatsApp/2.23.20.0 A",
      kind: "preview",
    },
    {
      name: "WhatsApp's Android preview fetcher (older build)",
      ua: "WhatsApp/2.21.12.21 A",
      kind: "preview",
    },
    {
      name: "WhatsApp's iOS preview fetcher",
      ua: "WhatsApp/2.20.42 i",
      kind: "preview",
    },
    {
      name: "WhatsApp's old slash-form fetcher",
      ua: "WhatsApp/2.16.2/i",
      kind: "preview",
    },
    {
      name: "WhatsApp's Nokia-era fetcher",
      ua: "WhatsApp/0.3.4479 N",
      kind: "preview",
    },
    { name: "a bare WhatsApp fetcher", ua: "WhatsApp", kind: "preview" },
    {
      name: "a lower-case WhatsApp fetcher",
      ua: "whatsapp/2.2123.8 n",
      kind: "preview",
    },
    {
      name: "Signal's preview fetcher, which borrows WhatsApp's UA",
      ua: "WhatsApp/2",
      kind: "preview",
    },
    ...whatsAppInAppBrowsers.map((ua) => ({
      name: `WhatsApp's in-app browser (${/WA4A/.test(ua) ? "Android" : "iPhone"})`,
      ua,
      kind: "human" as const,
    })),
    {
      name: "iMessage's preview, which poses as Facebook and Twitter",
      ua: IMESSAGE_PREVIEW,
      kind: "preview",
    },
    {
      name: "Facebook's crawler",
      ua: "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
      kind: "preview",
    },
    {
      name: "Telegram's preview",
      ua: "TelegramBot (like TwitterBot)",
      kind: "preview",
    },
    { name: "a missing user agent", ua: undefined, kind: "bot" },
    { name: "a null user agent", ua: null, kind: "bot" },
    { name: "an empty user agent", ua: "", kind: "bot" },
    { name: "a blank user agent", ua: "   ", kind: "bot" },
    { name: "curl", ua: "curl/8.5.0", kind: "bot" },
    { name: "python-requests", ua: "python-requests/2.31.0", kind: "bot" },
    {
      name: "Safari on an iPhone",
      ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      kind: "human",
    },
  ];

  it.each(cases)("counts $name as $kind", ({ ua, kind }) => {
    expect(classifyUserAgent(ua)).toBe(kind);
  });
});

describe("describeUserAgent", () => {
  const uaParserRows = tsv(expectedTsv).filter((row) => row.source.startsWith("ua-parser-js@1.0.41"));
  const DEVICE: Record<string, UserAgentDetails["deviceType"][]> = {
    mobile: ["mobile"],
    tablet: ["tablet"],
    smarttv: ["tv"],
    console: ["console"],
    wearable: ["wearable"],
    embedded: ["other"],
    undefined: ["desktop", "other"],
  };
  const orNull = (value: string) => (value === "undefined" ? null : value);

  it("has the ua-parser-js 1.0.41 fixtures to check against", () => {
    expect(uaParserRows.length).toBeGreaterThanOrEqual(40);
  });

  it.each(uaParserRows)("reads $fixture_desc the way ua-parser-js 1.0.41's own fixture does", (row) => {
    const details = describeUserAgent(row.user_agent);
    if (row.browser_name !== "-") expect(details.browser).toBe(orNull(row.browser_name));
    if (row.os_name !== "-") expect(details.os).toBe(orNull(row.os_name));
    if (row.device_type !== "-") expect(DEVICE[row.device_type]).toContain(details.deviceType);
  });

  it.each([
    {
      name: "Safari on an iPhone",
      ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      expected: { deviceType: "mobile", os: "iOS", browser: "Mobile Safari" },
    },
    {
      name: "Chrome on Windows",
      ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
      expected: { deviceType: "desktop", os: "Windows", browser: "Chrome" },
    },
    {
      name: "Safari on a Mac",
      ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
      expected: { deviceType: "desktop", os: "Mac OS", browser: "Safari" },
    },
    {
      name: "Safari on an iPad",
      ua: "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      expected: { deviceType: "tablet", os: "iOS", browser: "Mobile Safari" },
    },
    {
      name: "WhatsApp's in-app browser on Android",
      ua: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.7390.124 Mobile Safari/537.36 [WA4A/2.25.32.75;]",
      expected: { deviceType: "mobile", os: "Android", browser: "Chrome" },
    },
    {
      name: "a missing user agent",
      ua: undefined,
      expected: { deviceType: "other", os: null, browser: null },
    },
    // ua-parser-js would otherwise describe workerd's own navigator.userAgent ("Cloudflare-Workers").
    {
      name: "an empty user agent",
      ua: "",
      expected: { deviceType: "other", os: null, browser: null },
    },
    {
      name: "curl",
      ua: "curl/8.5.0",
      expected: { deviceType: "other", os: null, browser: null },
    },
  ])("describes $name", ({ ua, expected }) => {
    expect(describeUserAgent(ua)).toEqual(expected);
  });
});
