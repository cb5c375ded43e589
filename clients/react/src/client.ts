import { AeontelError, errorFromResponse, networkError } from "./errors.js";
import { FACTS } from "./keys.js";
import type {
  Collection,
  CollectionChange,
  CollectionList,
  File,
  FileVersion,
  FileVersionList,
  Image,
  ImageDeleted,
  ImageFacets,
  ImageFilters,
  ImageList,
  ImageSelection,
  ImageUpdate,
  ListImagesParams,
  ListSavedViewsParams,
  SavedView,
  SavedViewDeleted,
  SavedViewInput,
  SavedViewList,
  TagList,
  TagsChange,
  TagsChanged,
} from "./types.js";

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
  /** `GET /api/images/facets`: per facet its top values with counts among the images the filters match. */
  imageFacets(params: ImageFilters, signal?: AbortSignal): Promise<ImageFacets>;
  retrieveImage(fileId: string, signal?: AbortSignal): Promise<Image>;
  deleteImage(fileId: string, signal?: AbortSignal): Promise<ImageDeleted>;
  /** `POST /api/files/{id}/retry`: a failed image starts afresh; one waiting for the images service is tried now. */
  retryFile(fileId: string, signal?: AbortSignal): Promise<File>;
  /** Changes any of `altText`, `decorative`, `focalPoint` and `name`; answers the image as it is now. */
  updateImage(fileId: string, changes: ImageUpdate, signal?: AbortSignal): Promise<Image>;
  /** `POST /api/files/{id}/restore`: brings a deleted file back from the trash; an image comes back at the same URL. */
  restoreFile(fileId: string, signal?: AbortSignal): Promise<File>;
  /**
   * `PUT /api/files/{id}/content`: new bytes for an image become its next version (`pending` until the worker has it
   * ready; the current version serves meanwhile). `name` renames the file once the version is current.
   */
  replaceFile(fileId: string, file: Blob, options?: { name?: string; filename?: string },
              signal?: AbortSignal): Promise<FileVersion>;
  /** `GET /api/files/{id}/versions`: every version, newest first. */
  listVersions(fileId: string, signal?: AbortSignal): Promise<FileVersionList>;
  /** `POST /api/files/{id}/versions/{n}/restore`: the old version's bytes become a new version. */
  restoreVersion(fileId: string, number: number, signal?: AbortSignal): Promise<FileVersion>;
  /** The workspace's collections (or one project's), by name. */
  listCollections(params?: { workspaceId?: string; projectId?: string }, signal?: AbortSignal): Promise<CollectionList>;
  createCollection(projectId: string, name: string, workspaceId?: string): Promise<Collection>;
  renameCollection(collectionId: string, name: string): Promise<Collection>;
  /** The collection goes; its images stay. */
  deleteCollection(collectionId: string): Promise<void>;
  /** Adds `{ids}` or every image `{query}` matches; `changed` counts the images new to it. */
  addToCollection(collectionId: string, selection: ImageSelection): Promise<CollectionChange>;
  removeFromCollection(collectionId: string, selection: ImageSelection): Promise<CollectionChange>;
  /** The workspace's tags starting with `prefix` (any case), most used first. */
  suggestTags(params?: { prefix?: string; limit?: number; workspaceId?: string }, signal?: AbortSignal): Promise<TagList>;
  /** Adds and removes tags on `{ids}` or every image `{query}` matches. */
  changeTags(change: TagsChange, workspaceId?: string): Promise<TagsChanged>;
  /** `GET /api/views`: the caller's saved views, by name. */
  listViews(params: ListSavedViewsParams, signal?: AbortSignal): Promise<SavedViewList>;
  /** `POST /api/views`: saves a view; a query the server's engine refuses answers 400 `invalid_view_query`. */
  createView(view: SavedViewInput, workspaceId?: string, signal?: AbortSignal): Promise<SavedView>;
  retrieveView(viewId: string, signal?: AbortSignal): Promise<SavedView>;
  renameView(viewId: string, name: string, signal?: AbortSignal): Promise<SavedView>;
  deleteView(viewId: string, signal?: AbortSignal): Promise<SavedViewDeleted>;
  /** `GET /api/views/{id}/images`: a page of the view's images, in its sort. */
  listViewImages(viewId: string, page: { limit?: number; cursor?: string; count?: boolean },
                 signal?: AbortSignal): Promise<ImageList>;
  /**
   * `GET /api/files?sha256=…`: the workspace's file with exactly these bytes (their SHA-256, hex), or null. Ask it
   * before uploading, so a file the library has is never sent twice (`sha256Hex` hashes a Blob in the browser).
   */
  findFileBySha256(sha256: string, options?: { workspaceId?: string }, signal?: AbortSignal): Promise<File | null>;
}

/** The SHA-256 of a Blob's bytes in hex, with Web Crypto (`crypto.subtle`: a secure context, or Node 20+). */
export async function sha256Hex(blob: Blob): Promise<string> {
  // A view made here: an ArrayBuffer from another realm (a test DOM's Blob) is refused by some Web Crypto checks.
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new Uint8Array(await blob.arrayBuffer()));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
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
                            query?: Record<string, string | number | boolean | string[] | undefined>,
                            signal?: AbortSignal, body?: unknown): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (Array.isArray(value)) value.forEach((item) => search.append(key, item)); // repeated: tag=a&tag=b
      else if (value !== undefined && value !== "") search.set(key, String(value));
    }
    const qs = search.toString();
    const url = `${baseUrl}${path}${qs ? `?${qs}` : ""}`;
    const headers: Record<string, string> = { Accept: "application/json, application/problem+json" };
    const init: RequestInit = { method, headers, signal };
    if (body instanceof FormData) {
      init.body = body; // fetch sets the multipart Content-Type with its boundary
    } else if (body !== undefined) {
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
    if (response.status === 204) return undefined as T;
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
  const filePath = (fileId: string) => `/api/files/${encodeURIComponent(fileId)}`;
  const collectionPath = (collectionId: string) => `/api/collections/${encodeURIComponent(collectionId)}`;
  const viewPath = (viewId: string) => `/api/views/${encodeURIComponent(viewId)}`;

  return {
    baseUrl,
    listImages: ({ limit, count, cursor, ...filters }, signal) =>
      request<ImageList>("GET", "/api/images",
        { ...filterQuery(filters), limit, count: count || undefined, cursor }, signal),
    imageFacets: (filters, signal) => request<ImageFacets>("GET", "/api/images/facets", filterQuery(filters), signal),
    retrieveImage: (fileId, signal) => request<Image>("GET", imagePath(fileId), undefined, signal),
    findFileBySha256: async (sha256, options = {}, signal) => {
      const page = await request<{ data: File[] }>("GET", "/api/files",
        { sha256, limit: 1, workspace_id: options.workspaceId }, signal);
      return page.data[0] ?? null;
    },
    deleteImage: (fileId, signal) => request<ImageDeleted>("DELETE", imagePath(fileId), undefined, signal),
    retryFile: (fileId, signal) =>
      request<File>("POST", `/api/files/${encodeURIComponent(fileId)}/retry`, undefined, signal),
    updateImage: (fileId, changes, signal) => request<Image>("PATCH", imagePath(fileId), undefined, signal, changes),
    restoreFile: (fileId, signal) =>
      request<File>("POST", `/api/files/${encodeURIComponent(fileId)}/restore`, undefined, signal),
    replaceFile: (fileId, file, options = {}, signal) => {
      const form = new FormData();
      form.set("file", file, options.filename ?? ((file as { name?: string }).name || "image"));
      if (options.name) form.set("name", options.name);
      return request<FileVersion>("PUT", `${filePath(fileId)}/content`, undefined, signal, form);
    },
    listVersions: (fileId, signal) =>
      request<FileVersionList>("GET", `${filePath(fileId)}/versions`, undefined, signal),
    restoreVersion: (fileId, number, signal) =>
      request<FileVersion>("POST", `${filePath(fileId)}/versions/${Math.trunc(number)}/restore`, undefined, signal),
    listCollections: ({ workspaceId, projectId } = {}, signal) =>
      request<CollectionList>("GET", "/api/collections", { workspace_id: workspaceId, project_id: projectId }, signal),
    createCollection: (projectId, name, workspaceId) =>
      request<Collection>("POST", "/api/collections", { workspace_id: workspaceId }, undefined, { projectId, name }),
    renameCollection: (collectionId, name) =>
      request<Collection>("PATCH", collectionPath(collectionId), undefined, undefined, { name }),
    deleteCollection: (collectionId) => request<void>("DELETE", collectionPath(collectionId)),
    addToCollection: (collectionId, selection) =>
      request<CollectionChange>("POST", `${collectionPath(collectionId)}/images`, undefined, undefined, selection),
    removeFromCollection: (collectionId, selection) =>
      request<CollectionChange>("DELETE", `${collectionPath(collectionId)}/images`, undefined, undefined, selection),
    suggestTags: ({ prefix, limit, workspaceId } = {}, signal) =>
      request<TagList>("GET", "/api/tags", { workspace_id: workspaceId, prefix, limit }, signal),
    changeTags: (change, workspaceId) =>
      request<TagsChanged>("POST", "/api/images/tags", { workspace_id: workspaceId }, undefined, change),
    listViews: ({ workspaceId, projectId }, signal) =>
      request<SavedViewList>("GET", "/api/views", { workspace_id: workspaceId, project_id: projectId }, signal),
    createView: (view, workspaceId, signal) =>
      request<SavedView>("POST", "/api/views", { workspace_id: workspaceId }, signal, view),
    retrieveView: (viewId, signal) => request<SavedView>("GET", viewPath(viewId), undefined, signal),
    renameView: (viewId, name, signal) =>
      request<SavedView>("PATCH", viewPath(viewId), undefined, signal, { name }),
    deleteView: (viewId, signal) => request<SavedViewDeleted>("DELETE", viewPath(viewId), undefined, signal),
    listViewImages: (viewId, { limit, cursor, count }, signal) =>
      request<ImageList>("GET", `${viewPath(viewId)}/images`, { limit, cursor, count: count || undefined }, signal),
  };
}

const snake = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** The filters as the API names them (`cameraMake` → `camera_make`). */
function filterQuery(filters: ImageFilters): Record<string, string | number | boolean | string[] | undefined> {
  const { workspaceId, projectId, q, sort, format, hasAltText, createdAfter, createdBefore, collection, tag } = filters;
  const query: Record<string, string | number | boolean | string[] | undefined> = {
    workspace_id: workspaceId, project_id: projectId, q, sort, format, has_alt_text: hasAltText,
    created_after: createdAfter, created_before: createdBefore, collection, tag,
  };
  for (const name of FACTS) query[snake(name)] = filters[name];
  return query;
}
