import source from "./site.snippet.js";

export const SNIPPET_SOURCE: string = source;
