import type { Problem } from "./types.js";

/** The `code`s the API documents (docs/api.md); any other string may come too, so the type stays open. */
export type AeontelErrorCode =
  | "unauthorized"
  | "invalid_token"
  | "insufficient_scope"
  | "insufficient_role"
  | "csrf_failed"
  | "invalid_limit"
  | "invalid_cursor"
  | "invalid_q"
  | "invalid_parameter"
  | "workspace_id_missing"
  | "project_id_missing"
  | "file_missing"
  | "empty_file"
  | "image_not_found"
  | "file_not_found"
  | "not_in_trash"
  | "invalid_permanent"
  | "project_not_found"
  | "workspace_not_found"
  | "use_files_endpoint"
  | "method_not_allowed"
  | "file_too_large"
  | "multipart_required"
  | "storage_unavailable"
  | "storage_full"
  | "upload_url_not_found"
  | "upload_url_used"
  | "upload_url_expired"
  | "json_required"
  | "invalid_maxBytes"
  | "invalid_expiresIn"
  | "invalid_metadata"
  | "image_too_large"
  | "upload_not_found"
  | "upload_expired"
  | "offset_mismatch"
  | "checksum_mismatch"
  | "invalid_view_query"
  | "invalid_view_name"
  | "invalid_layout"
  | "view_not_found"
  | "view_not_yours"
  | "view_name_taken"
  | "too_many_views"
  /** Raised by this package: `cancel()` aborted the upload. */
  | "upload_canceled"
  /** Raised by this package: the request never got an answer (offline, DNS, refused, CORS in a browser). */
  | "network_error"
  /** Raised by this package: an answer that is not problem+json (a proxy's HTML error page, say). */
  | "unexpected_response"
  | (string & {});

/**
 * Every failure of the hooks: the API's problem+json body as typed fields, or a network failure (`status` 0).
 *
 * `code` is stable for programs; `detail` is for people; `parameter` names the query or form field at fault on
 * validation errors.
 */
export class AeontelError extends Error {
  override readonly name = "AeontelError";
  /** The HTTP status; 0 when no answer arrived. */
  readonly status: number;
  readonly code: AeontelErrorCode;
  readonly title: string;
  readonly detail: string;
  /** The problem type URI (`https://aeontel.dev/problems/<code>`). */
  readonly type: string;
  readonly parameter?: string;
  /** The whole problem body, with any extra members the server sent. */
  readonly problem: Problem;

  constructor(problem: Problem, options?: { cause?: unknown }) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`, options);
    this.problem = problem;
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail;
    this.type = problem.type;
    if (typeof problem.parameter === "string") this.parameter = problem.parameter;
  }
}

export function isAeontelError(error: unknown): error is AeontelError {
  return error instanceof AeontelError;
}

const PROBLEM_BASE = "https://aeontel.dev/problems/";

function isProblem(body: unknown): body is Problem {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.status === "number" && typeof b.code === "string" && typeof b.detail === "string";
}

/** An error from a non-2xx response: its problem+json body when it has one, else a summary of what came. */
export async function errorFromResponse(response: Response): Promise<AeontelError> {
  const text = await response.text().catch(() => "");
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (isProblem(body)) {
    return new AeontelError({
      ...body,
      type: typeof body.type === "string" ? body.type : PROBLEM_BASE + body.code,
      title: typeof body.title === "string" ? body.title : response.statusText,
    });
  }
  const contentType = response.headers.get("Content-Type") ?? "no Content-Type";
  return new AeontelError({
    type: PROBLEM_BASE + "unexpected_response",
    title: response.statusText || "Unexpected response",
    status: response.status,
    code: "unexpected_response",
    detail: `The server answered ${response.status} with ${contentType}, not problem+json.`,
  });
}

export function networkError(cause: unknown, url: string): AeontelError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AeontelError(
    {
      type: PROBLEM_BASE + "network_error",
      title: "Network error",
      status: 0,
      code: "network_error",
      detail: `No answer from ${url}: ${reason}`,
    },
    { cause },
  );
}
