import { textVersion } from "./lib/etag";

// Files served exactly as written, kept out of the Worker's bundle: they are Workers Static Assets (`public/`,
// `[assets]` in wrangler.toml), read through the ASSETS binding. The Worker runs first for every request, so
// each route still sets its own headers (caching, security, versions) as it would for a file in the bundle.

export type StaticFile = { path: string; type: string };

export const SITE_SNIPPET: StaticFile = { path: "/t/s.js", type: "application/javascript; charset=utf-8" };
export const DASHBOARD_SCRIPT: StaticFile = {
  path: "/dashboard/dashboard.js",
  type: "application/javascript; charset=utf-8",
};
export const DASHBOARD_STYLES: StaticFile = { path: "/dashboard/dashboard.css", type: "text/css; charset=utf-8" };
/** Generated from the routes' schemas by `npm run openapi`; a test checks it is current. */
export const OPENAPI_DOCUMENT: StaticFile = { path: "/api/v1/openapi.json", type: "application/json" };

export type StaticText = { body: string; etag: string };

const read = new Map<string, Promise<StaticText>>();

/** The file's text and its ETag (a hash of the text), read once per isolate. */
export function readStatic(assets: Fetcher, file: StaticFile): Promise<StaticText> {
  let text = read.get(file.path);
  if (!text) {
    text = (async () => {
      const res = await assets.fetch(new Request(`https://assets.invalid${file.path}`));
      if (!res.ok) throw new Error(`The static file ${file.path} answered ${res.status}`);
      const body = await res.text();
      return { body, etag: await textVersion(body) };
    })();
    // A failed read is tried again by the next request.
    text.catch(() => read.delete(file.path));
    read.set(file.path, text);
  }
  return text;
}

/** The file's URL with its version, so a page can let browsers keep the file for a year. */
export async function versionedUrl(assets: Fetcher, file: StaticFile): Promise<string> {
  return `${file.path}?v=${(await readStatic(assets, file)).etag.slice(1, -1)}`;
}
