import { config } from "zod/mini";
import { en } from "../lib/zod-locales";

// zod/mini: the same checks as zod's chained API, as functions, so that the bundle holds only those used.
// Import it as a namespace (`import * as z from "./zod"`) and never pass `z` around as a value, or the bundle
// holds all of zod again. Its messages need a locale; errors are written in English.
config(en());

export * from "zod/mini";
