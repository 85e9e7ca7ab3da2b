// Stands in for zod's own index of locales in the bundle (see `[alias]` in wrangler.toml): English, the
// only language errors are written in.
export { default as en } from "zod/v4/locales/en.js";
