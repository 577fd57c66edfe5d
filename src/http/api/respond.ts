/** Writing API responses: JSON bodies and the one error shape every endpoint uses. */
import type { ServerResponse } from 'node:http';

/** A refusal with its HTTP status: `{"error": {"status": 404, "code": "not_found", "message": "..."}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** More of the refusal, structured (a 422's `fields`, a 409's `current` version): in `error`. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Headers on every dashboard and API response: nothing from elsewhere, no framing, no sniffing. */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

/** Write a whole response with the security headers, never cached; a no-op after headers went out. */
export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res
    .writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': contentType,
      'cache-control': 'no-store',
      ...headers,
    })
    .end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`, headers);
}

export function sendError(res: ServerResponse, error: ApiError): void {
  sendJson(
    res,
    error.status,
    { error: { status: error.status, code: error.code, message: error.message, ...error.details } },
    error.headers,
  );
}
