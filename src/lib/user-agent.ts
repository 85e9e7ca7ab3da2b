import { isbot } from "isbot";
// Default import on purpose: inside workerd (vitest pool) `import { UAParser }` comes back undefined.
// The UMD wrapper adds `UAParser.UAParser` only after assigning module.exports, and the ESM view of this
// CommonJS file is taken from the keys present at that moment. The default export works everywhere.
import UAParser from "ua-parser-js";
import { TtlCache } from "./ttl-cache";

export type TrafficKind = "human" | "preview" | "bot";

export interface UserAgentDetails {
  deviceType: "mobile" | "tablet" | "desktop" | "tv" | "console" | "wearable" | "other";
  os: string | null;
  browser: string | null;
}

// Link-preview / unfurl fetchers, matched case-insensitively anywhere in the UA unless anchored.
// Many of these apps also have an in-app browser whose UA carries the app's name
// (`Line/14.12.2/IAB`, `Snapchat/12.87`, `[Pinterest/Android]`, `Viber/11.9`, `KAKAOTALK`,
// `Flipboard/4.2`), so each pattern targets the fetcher's own token, never the bare app name.
const PREVIEW_PATTERNS: RegExp[] = [
  // WhatsApp's fetcher (`WhatsApp/2.23.20.0 A`, `WhatsApp/2.16.2/i`, bare `WhatsApp`), also used
  // verbatim by Signal (`WhatsApp/2`). Anchored: WhatsApp Desktop (Electron) has `WhatsApp/2.2019.8`
  // in the middle of a full browser UA and is a person clicking.
  /^whatsapp(?:\/|$)/,
  // Facebook / Meta crawlers; iMessage's preview UA also matches (it contains `facebookexternalhit`)
  /facebook(?:externalhit|bot|catalog|platform|scraper)|facebot|meta-external(?:agent|fetcher|ads|hit)|meta-webindexer/,
  /telegrambot/, // Telegram
  /slackbot|slack-imgproxy/, // Slack
  /twitterbot/, // Twitter / X
  /discordbot/, // Discord
  /linkedinbot/, // LinkedIn
  /skypeuripreview|microsoftpreview/, // Skype, Teams, Outlook
  /viberurldownloader|^viber$/, // Viber
  /snap ?url ?preview|snapchatads|snapchat-proxy/, // Snapchat
  /pinterestbot|^pinterest\/\d/, // Pinterest
  /redditbot/, // Reddit
  /\(mastodon\/|^friendica\b|^lemmy\/|summalybot/, // Mastodon (`http.rb/… (Mastodon/…)`), Friendica, Lemmy, Misskey
  /bluesky/, // Bluesky: Cardyb, BlueskyPreviewBot and friends
  /vkshare|vkrobot/, // VK
  /odklbot/, // Odnoklassniki
  /linespider/, // LINE
  /kakaotalk-scrap/, // KakaoTalk (not in the corpus; its in-app browser says `KAKAOTALK`)
  /embedly|iframely/, // embed services used by Medium, Notion, Atlassian, …
  /yahoo link preview|yahoomailproxy/, // Yahoo Mail
  /flipboardproxy/, // Flipboard
  /tiktokspider/, // TikTok
  /github-camo/, // GitHub image proxy
  /synapse \(bot|matrix-media-repo/, // Matrix homeservers
  /mattermost-bot/, // Mattermost
  /discourse forum onebox/, // Discourse
  /steamchaturllookup/, // Steam chat
  /twilioproxy/, // Twilio (SMS/WhatsApp API link fetches)
  /dingtalkbot/, // DingTalk
  /groupmebot/, // GroupMe
  /chatwork linkpreview/, // Chatwork
  /gg peekbot/, // Gadu-Gadu
  /keybasebot/, // Keybase
  /evernoterichlinkbot/, // Evernote
  /^notion\//, // Notion
  /codabot/, // Coda
  /clickuplinkunfurler/, // ClickUp
  /shortwave image fetcher|fastmailua/, // Shortwave, Fastmail
  /mediumbot/, // Medium
  /quora-bot/, // Quora
  /^tumblr\/\d/, // Tumblr
  /xing bot/, // XING
  /^ning\//, // Ning
  /hatena/, // Hatena Bookmark and its fetchers
  /compatible; goodreads/, // Goodreads
  /addthis\.com|newsharecounts|tweetmemebot|everyonesocialbot|loomlybot|jetslide/, // share counters, social schedulers
  /opengraph\.io|aasa-bot|supabase paired crawler|\(dbot\)/, // tagged social-preview by crawler-user-agents
  /link ?preview|unfurl/, // generic (Buffer, Orlo, Bitrix, linkpreview.net, LMArena, …)
];

const PREVIEW = new RegExp(PREVIEW_PATTERNS.map((pattern) => pattern.source).join("|"), "i");

/**
 * Decides whether a hit on a tracked link is a person, a chat or social app building a preview card,
 * or another bot. Search and ads crawlers (Googlebot, Bingbot, Applebot) are bots: nobody shared the link.
 */
export function classifyUserAgent(userAgent: string | null | undefined): TrafficKind {
  const ua = userAgent?.trim();
  if (!ua) return "bot";
  return remembered(classified, ua, () => {
    if (PREVIEW.test(ua)) return "preview";
    return isbot(ua) ? "bot" : "human";
  });
}

// The clicks of a campaign come from far fewer user agents than visits (the same phones, browsers and
// in-app browsers, and every preview fetcher of an app with one string), and matching or parsing one
// costs more than the rest of a redirect: each isolate remembers the answers for the latest ones. The
// answers depend on the string alone; the hour bounds how long a long-lived isolate keeps a rare one.
const REMEMBERED_AGENTS = 2_000;
const REMEMBER_MS = 3_600_000;
const MAX_REMEMBERED_LENGTH = 512;
const classified = new TtlCache<TrafficKind>(REMEMBER_MS, REMEMBERED_AGENTS);
const described = new TtlCache<UserAgentDetails>(REMEMBER_MS, REMEMBERED_AGENTS);

function remembered<V>(cache: TtlCache<V>, ua: string, compute: () => V): V {
  const known = cache.get(ua);
  if (known !== undefined) return known;
  const value = compute();
  // Longer strings are rare and mostly forged; they are worked out each time rather than fill the cache.
  if (ua.length <= MAX_REMEMBERED_LENGTH) cache.set(ua, value);
  return value;
}

// ua-parser-js 1.x sets no device type for desktops; these OS names (as it spells them) mean one.
const DESKTOP_OS =
  /^(?:windows|mac os|chromium os|linux|[kxl]?ubuntu|debian|fedora|mint|centos|red ?hat|(?:open)?suse|gentoo|arch|slackware|mandriva|mageia|manjaro|elementary os|zenwalk|pclinuxos|vectorlinux|linspire|sabayon|deepin|raspbian|gnu|hurd|(?:free|net|open|pc-|ghost)bsd|dragonfly|solaris|aix|hp-ux|haiku|beos|os\/2|amigaos|morphos|openvms|serenityos|unix|plan9|minix|risc ?os)$/i;

const DEVICE_TYPES: Record<string, UserAgentDetails["deviceType"]> = {
  mobile: "mobile",
  tablet: "tablet",
  smarttv: "tv",
  console: "console",
  wearable: "wearable",
  embedded: "other",
};

/** Browser, OS and device class for reporting, from ua-parser-js 1.x (names follow its 1.x spelling). */
export function describeUserAgent(userAgent: string | null | undefined): UserAgentDetails {
  const ua = userAgent?.trim();
  // ua-parser-js falls back to `navigator.userAgent` for an empty string, which in workerd is
  // "Cloudflare-Workers"; never let it describe the Worker itself.
  if (!ua) return { deviceType: "other", os: null, browser: null };
  return remembered(described, ua, () => parseUserAgent(ua));
}

function parseUserAgent(ua: string): UserAgentDetails {
  const { browser, os, device } = new UAParser(ua).getResult();
  const osName = os.name || null;
  let deviceType: UserAgentDetails["deviceType"];
  if (device.type) deviceType = DEVICE_TYPES[device.type] ?? "other";
  else deviceType = osName && DESKTOP_OS.test(osName) ? "desktop" : "other";
  return { deviceType, os: osName, browser: browser.name || null };
}
