import { OpenAPIHono } from "@hono/zod-openapi";
import type { z } from "zod";
import { ApiError, type ErrorIssue } from "../errors";
import type { AppEnv } from "../types";

export function toIssues(error: z.ZodError): ErrorIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.filter((p): p is string | number => typeof p !== "symbol"),
    message: issue.message,
    code: issue.code,
  }));
}

/** A router whose request validation failures become the 400 envelope, listing each field. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError("invalid_request", "The request is invalid; see issues.", toIssues(result.error));
      }
    },
  });
}
