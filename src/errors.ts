import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "./types";
import { loggableStack, withoutParams } from "./lib/loggable-error";

export const errorStatus = {
  invalid_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  // The contact's latest consent record is an opt-out that covers what was asked for.
  opted_out: 409,
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof errorStatus;

export type ErrorIssue = { path: (string | number)[]; message: string; code?: string };

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: ErrorIssue[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = errorStatus[code];
  }
}

export function errorBody(code: ErrorCode, message: string, requestId: string, issues?: ErrorIssue[]) {
  return { error: { code, message, ...(issues ? { issues } : {}), requestId } };
}

function fromHttpException(err: HTTPException): ApiError {
  switch (err.status) {
    case 400:
      return /json/i.test(err.message)
        ? new ApiError("invalid_json", "The request body is not valid JSON.")
        : new ApiError("invalid_request", err.message || "Bad request.");
    case 413:
      return new ApiError("payload_too_large", "The request body is too large.");
    case 415:
      return new ApiError("unsupported_media_type", err.message || "Unsupported content type.");
    case 401:
      return new ApiError("unauthorized", err.message || "Unauthorized.");
    default:
      return new ApiError("invalid_request", err.message || "Bad request.");
  }
}

export function handleError(err: Error, c: Context<AppEnv>) {
  const requestId = c.get("requestId") ?? "unknown";
  const apiError = err instanceof ApiError ? err : err instanceof HTTPException ? fromHttpException(err) : null;
  if (apiError) {
    return c.json(
      errorBody(apiError.code, apiError.message, requestId, apiError.issues),
      apiError.status,
      apiError.headers,
    );
  }
  // Unknown errors are logged with their stack; the caller only learns the request id.
  console.error(
    JSON.stringify({ requestId, error: err.name, message: withoutParams(err.message), stack: loggableStack(err) }),
  );
  return c.json(
    errorBody("internal_error", "Something went wrong. Quote the request id when reporting it.", requestId),
    500,
  );
}

export function handleNotFound(c: Context<AppEnv>) {
  return c.json(
    errorBody("not_found", `No route for ${c.req.method} ${c.req.path}.`, c.get("requestId") ?? "unknown"),
    404,
  );
}
