import { AeontelError, errorFromResponse, networkError } from "./errors.js";
import type { File, Image, ImageDeleted, ImageList, ImageUpdate, ListImagesParams } from "./types.js";

type Awaitable<T> = T | Promise<T>;

interface CommonConfig {
  /**
   * Where the API is: `https://images.example.com` (the client adds `/api/...`). Default `""`, the page's own
   * origin, for the gallery and apps served behind the same host.
   */
  baseUrl?: string;
  /** The `fetch` to use (default `globalThis.fetch`): pass one to add logging, retries or a test double. */
  fetch?: typeof globalThis.fetch;
  /**
   * How often a 429 or 503 that carries `Retry-After` is waited out and sent again (default 3); each wait is at
   * most `maxRetryWaitMs` (default 60 000). 0 turns this off.
   */
  maxRetries?: number;
  maxRetryWaitMs?: number;
}

/** A program with an API token (`aet_…`): sent as `Authorization: Bearer <token>`. */
export interface TokenConfig extends CommonConfig {
  /** The token, or a function that returns the current one (asked on every request). */
  token: string | (() => Awaitable<string>);
  credentials?: never;
  csrfToken?: never;
}

/** A signed-in browser: the session cookie goes along, and writes carry the page's CSRF token. */
export interface SessionConfig extends CommonConfig {
  token?: never;
  /**
   * `"same-origin"` for the gallery's own pages. The API never accepts a session from another origin (no CORS
   * credentials, and a foreign `Origin` is not signed in): a page elsewhere uses `token` instead.
   */
  credentials: "same-origin" | "include";
  /**
   * The page's CSRF token (`<meta name="csrf-token">`), sent as `X-CSRFToken` on DELETE; or a function that reads
   * it. Lists then need `workspaceId`.
   */
  csrfToken?: string | (() => string | null | undefined);
}

export type AeontelConfig = TokenConfig | SessionConfig;

/** The calls the hooks make; usable on its own outside React. */
export interface AeontelClient {
  readonly baseUrl: string;
  listImages(params: ListImagesParams & { cursor?: string }, signal?: AbortSignal): Promise<ImageList>;
  retrieveImage(fileId: string, signal?: AbortSignal): Promise<Image>;
  deleteImage(fileId: string, signal?: AbortSignal): Promise<ImageDeleted>;
  /** `POST /api/files/{id}/retry`: a failed image starts afresh; one waiting for the images service is tried now. */
  retryFile(fileId: string, signal?: AbortSignal): Promise<File>;
  /** Changes any of `altText`, `decorative`, `focalPoint` and `name`; answers the image as it is now. */
  updateImage(fileId: string, changes: ImageUpdate, signal?: AbortSignal): Promise<Image>;
  /** `POST /api/files/{id}/restore`: brings a deleted file back from the trash; an image comes back at the same URL. */
  restoreFile(fileId: string, signal?: AbortSignal): Promise<File>;
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
const RETRYABLE = new Set([429, 503]);

/** Milliseconds a `Retry-After` header asks to wait (seconds or an HTTP date); null when there is none. */
export function retryAfterMs(response: Response): number | null {
  const raw = response.headers.get("Retry-After");
  if (!raw) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function createAeontelClient(config: AeontelConfig): AeontelClient {
  const baseUrl = (config.baseUrl ?? "").replace(/\/+$/, "");
  const doFetch = config.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));

  const maxRetries = config.maxRetries ?? 3;
  const maxRetryWaitMs = config.maxRetryWaitMs ?? 60_000;

  async function request<T>(method: string, path: string,
                            query?: Record<string, string | number | boolean | undefined>,
                            signal?: AbortSignal, body?: unknown): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== "") search.set(key, String(value));
    }
    const qs = search.toString();
    const url = `${baseUrl}${path}${qs ? `?${qs}` : ""}`;
    const headers: Record<string, string> = { Accept: "application/json, application/problem+json" };
    const init: RequestInit = { method, headers, signal };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (config.token !== undefined) {
      const token = typeof config.token === "function" ? await config.token() : config.token;
      headers.Authorization = `Bearer ${token}`;
      init.credentials = "omit"; // a bearer call carries no ambient credentials
    } else {
      init.credentials = config.credentials;
      if (!SAFE.has(method)) {
        const csrf = typeof config.csrfToken === "function" ? config.csrfToken() : config.csrfToken;
        if (csrf) headers["X-CSRFToken"] = csrf;
      }
    }
    let response: Response;
    for (let attempt = 0; ; attempt++) {
      try {
        response = await doFetch(url, init);
      } catch (cause) {
        if (signal?.aborted) throw cause; // TanStack Query handles its own cancellations
        throw networkError(cause, url);
      }
      const asked = RETRYABLE.has(response.status) ? retryAfterMs(response) : null;
      if (asked === null || attempt >= maxRetries) break;
      await response.body?.cancel();
      await wait(Math.min(asked, maxRetryWaitMs), signal); // the server said when; a bounded number of times
    }
    if (!response.ok) throw await errorFromResponse(response);
    try {
      return (await response.json()) as T;
    } catch (cause) {
      throw new AeontelError(
        {
          type: "https://aeontel.dev/problems/unexpected_response",
          title: "Unexpected response",
          status: response.status,
          code: "unexpected_response",
          detail: `The server answered ${response.status} with a body that is not JSON.`,
        },
        { cause },
      );
    }
  }

  const imagePath = (fileId: string) => `/api/images/${encodeURIComponent(fileId)}`;

  return {
    baseUrl,
    listImages: ({ workspaceId, projectId, limit, q, sort, format, hasAltText, createdAfter, createdBefore, count,
                   cursor }, signal) =>
      request<ImageList>("GET", "/api/images",
        { workspace_id: workspaceId, project_id: projectId, q, limit, sort, format, has_alt_text: hasAltText,
          created_after: createdAfter, created_before: createdBefore, count: count || undefined, cursor }, signal),
    retrieveImage: (fileId, signal) => request<Image>("GET", imagePath(fileId), undefined, signal),
    deleteImage: (fileId, signal) => request<ImageDeleted>("DELETE", imagePath(fileId), undefined, signal),
    retryFile: (fileId, signal) =>
      request<File>("POST", `/api/files/${encodeURIComponent(fileId)}/retry`, undefined, signal),
    updateImage: (fileId, changes, signal) => request<Image>("PATCH", imagePath(fileId), undefined, signal, changes),
    restoreFile: (fileId, signal) =>
      request<File>("POST", `/api/files/${encodeURIComponent(fileId)}/restore`, undefined, signal),
  };
}
