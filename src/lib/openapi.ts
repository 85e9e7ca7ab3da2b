// The router and its validation hook live with the middleware; this path still serves modules that import them from here.
export { createRouter, toIssues } from "../middleware/validation";
