import script from "./dashboard.asset.js";
import styles from "./dashboard.asset.css";
import { textVersion } from "../lib/etag";

/** The dashboard's files, served as written (wrangler.toml's Text rule), each with the version its URL carries. */
export type DashboardAsset = { path: string; type: string; body: string };

export const DASHBOARD_SCRIPT: DashboardAsset = {
  path: "/dashboard/dashboard.js",
  type: "application/javascript; charset=utf-8",
  body: script,
};
export const DASHBOARD_STYLES: DashboardAsset = {
  path: "/dashboard/dashboard.css",
  type: "text/css; charset=utf-8",
  body: styles,
};

const versions = new Map<DashboardAsset, Promise<string>>();

/** The asset's ETag, computed once per isolate. */
export function assetVersion(asset: DashboardAsset): Promise<string> {
  let version = versions.get(asset);
  if (!version) versions.set(asset, (version = textVersion(asset.body)));
  return version;
}

/** The asset's URL with its version, so the page can let browsers keep the file for a year. */
export async function versionedUrl(asset: DashboardAsset): Promise<string> {
  return `${asset.path}?v=${(await assetVersion(asset)).slice(1, -1)}`;
}
