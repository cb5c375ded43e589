import { useQuery, type UseQueryOptions, type UseQueryResult } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { Upload as TusUpload, type DetailedError } from "tus-js-client";
import { AeontelError, errorFromResponse, networkError } from "./errors.js";
import { sha256Hex } from "./client.js";
import { useOptionalAeontelClient } from "./provider.js";
import type { ApiFile, UploadUrl, UploadUrlStatus } from "./types.js";

type Awaitable<T> = T | Promise<T>;

/**
 * Where to upload: a one-time upload URL, or a function that asks the app's own server for one (that server holds the
 * write token and calls `POST /api/uploads`). The function gets the file, so the server can set limits and alt text.
 */
export type UploadUrlSource =
  | string
  | ((file: Blob, options: { name: string }) => Awaitable<string | UploadTarget>);

/** An upload URL with what the server said about it (`maxBytes` lets the hook refuse a too-large file at once). */
export type UploadTarget = Partial<Omit<UploadUrl, "uploadUrl">> & { uploadUrl: string };

/** Files this large or larger go as a resumable upload (tus 1.0) unless `resumableFrom` says otherwise: 8 MiB. */
export const RESUMABLE_FROM = 8 * 1024 * 1024;
/** The size of each piece of a resumable upload unless `chunkSize` says otherwise: 8 MiB. */
export const RESUMABLE_CHUNK = 8 * 1024 * 1024;

export interface UploadProgress {
  /** Bytes sent so far (for a one-request upload, of the request body: the multipart framing included). */
  loaded: number;
  total: number;
  /** 0 to 1. */
  fraction: number;
}

export type UploadState = "idle" | "preparing" | "checking" | "uploading" | "done" | "known" | "error" | "canceled";

/**
 * The answer when the workspace already had the file's bytes: nothing was sent; `file` is the file the library has
 * (a one-time upload URL that receives known bytes answers the same way, with `file.duplicateOf`).
 */
export interface KnownFile {
  object: "known_file";
  state: "known";
  file: ApiFile;
  image: null;
  duplicateOf: string;
}

export interface UseUploadFileOptions {
  uploadUrl: UploadUrlSource;
  /**
   * Hash the file first (Web Crypto) and ask the API whether the workspace has these bytes, so a known file is
   * never sent: `upload()` then resolves with a `KnownFile` and `state` is `"known"`. Needs an `AeontelProvider`
   * (its client asks `GET /api/files?sha256=…`); on by default when there is one. `workspaceId` for session clients.
   */
  checkFirst?: boolean;
  workspaceId?: string;
  /**
   * Files of this many bytes or more go as a resumable upload (tus 1.0, with tus-js-client) to the same URL: in
   * pieces of `chunkSize`, retried after a dropped connection from where the server says it got to, and resumed by a
   * later `upload()` of the same file to the same URL (after `cancel()` or a page reload: the browser remembers it).
   * Smaller files go in one request. Default `RESUMABLE_FROM` (8 MiB); `Infinity` never, 0 always.
   */
  resumableFrom?: number;
  /** Bytes per piece of a resumable upload (default `RESUMABLE_CHUNK`, 8 MiB). */
  chunkSize?: number;
  onProgress?: (progress: UploadProgress) => void;
  onSuccess?: (result: UploadUrlStatus) => void;
  /** The library already had the file (with `checkFirst`): nothing was sent. */
  onKnown?: (known: KnownFile) => void;
  onError?: (error: AeontelError) => void;
}

export interface UseUploadFileResult {
  /**
   * Uploads one file; resolves with the upload URL's status (its `file`; the `image` comes later), or with a
   * `KnownFile` when the library has the bytes already (nothing sent), or rejects. `keepBoth` uploads it anyway.
   */
  upload: (file: Blob, name?: string, options?: { keepBoth?: boolean }) => Promise<UploadUrlStatus | KnownFile>;
  /** Aborts the upload in flight: it rejects with code `upload_canceled`, and the URL stays usable (a resumable upload
   * is kept: `upload()` of the same file goes on with it). */
  cancel: () => void;
  reset: () => void;
  state: UploadState;
  progress: UploadProgress | null;
  result: UploadUrlStatus | KnownFile | null;
  error: AeontelError | null;
  /** The URL the last upload went to, to follow its image with `useUploadedImage`. */
  uploadUrl: string | null;
  /** The last upload's own resumable URL (`<uploadUrl>/tus/<id>`) when it went as a resumable upload, else null. */
  resumableUrl: string | null;
}

function canceled(): AeontelError {
  return new AeontelError({
    type: "https://aeontel.dev/problems/upload_canceled",
    title: "Canceled",
    status: 0,
    code: "upload_canceled",
    detail: "The upload was canceled before it finished.",
  });
}

async function resolveUrl(source: UploadUrlSource, file: Blob, name: string): Promise<UploadTarget> {
  const got = typeof source === "function" ? await source(file, { name }) : source;
  return typeof got === "string" ? { uploadUrl: got } : got;
}

/**
 * Posts `file` to a one-time upload URL with XMLHttpRequest (for upload progress), with no credentials at all: the
 * URL is the permission. Usable outside React.
 */
export function uploadToUrl(uploadUrl: string, file: Blob, options: { name?: string; signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void; keepBoth?: boolean } = {}): Promise<UploadUrlStatus> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(canceled());
    const xhr = new XMLHttpRequest();
    const body = new FormData();
    body.append("file", file, options.name ?? (file as File).name ?? "upload");
    // Bytes the library has answer that file (`file.duplicateOf`) unless `keepBoth` stores a second one.
    xhr.open("POST", options.keepBoth ? `${uploadUrl}${uploadUrl.includes("?") ? "&" : "?"}duplicates=allow` : uploadUrl);
    xhr.withCredentials = false;
    xhr.setRequestHeader("Accept", "application/json, application/problem+json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) {
        options.onProgress?.({ loaded: event.loaded, total: event.total, fraction: event.total ? event.loaded / event.total : 1 });
      }
    };
    xhr.onload = () => {
      const response = new Response(xhr.responseText, {
        status: xhr.status,
        headers: { "Content-Type": xhr.getResponseHeader("Content-Type") ?? "application/octet-stream" },
      });
      if (xhr.status >= 200 && xhr.status < 300) {
        response.json().then((json: UploadUrlStatus) => resolve(json), () => reject(networkError("not JSON", uploadUrl)));
      } else {
        errorFromResponse(response).then(reject, reject);
      }
    };
    xhr.onerror = () => reject(networkError(new Error("the connection failed (or CORS refused it)"), uploadUrl));
    xhr.onabort = () => reject(canceled());
    options.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

/** A tus-js-client failure as the API's typed error: the server's problem+json when it answered, else a network one. */
function tusError(cause: unknown, url: string): Promise<AeontelError> {
  const answered = (cause as DetailedError | undefined)?.originalResponse;
  if (!answered || !answered.getStatus()) return Promise.resolve(networkError(cause, url));
  const response = new Response(answered.getBody() ?? "", {
    status: answered.getStatus(),
    headers: { "Content-Type": answered.getHeader("Content-Type") ?? "application/octet-stream" },
  });
  return errorFromResponse(response);
}

/**
 * Sends `file` to a one-time upload URL as a resumable upload (tus 1.0: `POST` on the URL, then `PATCH`es on the
 * `Location` it answers), with no credentials: the URL is the permission. An upload of the same file to the same URL
 * that did not finish (canceled, or the page was reloaded) goes on from where it stopped. Usable outside React.
 */
export function resumableUploadToUrl(uploadUrl: string, file: Blob, options: { name?: string; signal?: AbortSignal;
  chunkSize?: number; onProgress?: (progress: UploadProgress) => void; onStart?: (resumableUrl: string) => void } = {},
): Promise<UploadUrlStatus> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(canceled());
    const name = options.name ?? (file as File).name ?? "upload";
    const upload: TusUpload = new TusUpload(file, {
      endpoint: uploadUrl,
      chunkSize: options.chunkSize ?? RESUMABLE_CHUNK,
      metadata: { filename: name },
      retryDelays: [0, 1000, 3000, 5000],
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // The same file to the same URL: name, type, size and (for a File) when it was last changed.
      fingerprint: async (input, opts) =>
        ["aeontel-tus", name, input.type, input.size, (input as File).lastModified ?? "", opts.endpoint].join("-"),
      onUploadUrlAvailable: () => {
        if (upload.url) options.onStart?.(upload.url);
      },
      onProgress: (loaded, total) => options.onProgress?.({ loaded, total, fraction: total ? loaded / total : 1 }),
      onSuccess: () => {
        fetchUploadStatus(uploadUrl).then(resolve, reject);
      },
      onError: (cause) => {
        tusError(cause, uploadUrl).then(reject, reject);
      },
    });
    options.signal?.addEventListener(
      "abort",
      () => {
        upload.abort(false).then(() => reject(canceled()), () => reject(canceled())); // kept: a later upload resumes
      },
      { once: true },
    );
    upload.findPreviousUploads().then(
      (previous) => {
        if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]!);
        if (!options.signal?.aborted) upload.start();
      },
      (cause: unknown) => reject(networkError(cause, uploadUrl)),
    );
  });
}

/**
 * Uploads files from the browser without a secret: `upload(file)` gets a one-time URL (given, or from your server),
 * posts the file there with progress (a large one as a resumable upload, see `resumableFrom`), and returns what the
 * server stored. `cancel()` aborts it.
 */
export function useUploadFile(options: UseUploadFileOptions): UseUploadFileResult {
  const latest = useRef(options);
  latest.current = options;
  const controller = useRef<AbortController | null>(null);
  const mounted = useRef(true);
  const [state, setState] = useState<UploadState>("idle");
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [result, setResult] = useState<UploadUrlStatus | KnownFile | null>(null);
  const client = useOptionalAeontelClient();
  const latestClient = useRef(client);
  latestClient.current = client;
  const [error, setError] = useState<AeontelError | null>(null);
  const [uploadUrl, setUploadUrl] = useState<string | null>(null);
  const [resumableUrl, setResumableUrl] = useState<string | null>(null);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      controller.current?.abort();
    };
  }, []);

  const upload = useCallback(async (file: Blob, name?: string, uploadOptions: { keepBoth?: boolean } = {}) => {
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    const fileName = name ?? (file as File).name ?? "upload";
    const set = (fn: () => void) => {
      if (mounted.current && controller.current === abort) fn();
    };
    set(() => {
      setState("preparing");
      setProgress(null);
      setResult(null);
      setError(null);
      setResumableUrl(null);
    });
    try {
      const asker = latestClient.current;
      if (asker && latest.current.checkFirst !== false && !uploadOptions.keepBoth && globalThis.crypto?.subtle) {
        set(() => setState("checking"));
        const found = await asker.findFileBySha256(await sha256Hex(file), { workspaceId: latest.current.workspaceId },
          abort.signal);
        if (abort.signal.aborted) throw canceled();
        if (found) {
          const known: KnownFile = { object: "known_file", state: "known", file: found, image: null, duplicateOf: found.id };
          set(() => {
            setResult(known);
            setState("known");
          });
          latest.current.onKnown?.(known);
          return known;
        }
      }
      const target = await resolveUrl(latest.current.uploadUrl, file, fileName);
      if (abort.signal.aborted) throw canceled();
      if (target.maxBytes !== undefined && file.size > target.maxBytes) {
        throw new AeontelError({
          type: "https://aeontel.dev/problems/file_too_large", title: "Payload Too Large", status: 413,
          code: "file_too_large", detail: `The file is larger than the limit of ${target.maxBytes} bytes.`,
        });
      }
      set(() => {
        setUploadUrl(target.uploadUrl);
        setState("uploading");
      });
      const sending = {
        name: fileName,
        keepBoth: uploadOptions.keepBoth,
        signal: abort.signal,
        onProgress: (next: UploadProgress) => {
          set(() => setProgress(next));
          latest.current.onProgress?.(next);
        },
      };
      const resumable = file.size >= (latest.current.resumableFrom ?? RESUMABLE_FROM);
      const done = resumable
        ? await resumableUploadToUrl(target.uploadUrl, file, {
            ...sending,
            chunkSize: latest.current.chunkSize,
            onStart: (url) => set(() => setResumableUrl(url)),
          })
        : await uploadToUrl(target.uploadUrl, file, sending);
      set(() => {
        setResult(done);
        setState("done");
      });
      latest.current.onSuccess?.(done);
      return done;
    } catch (cause) {
      const failure = cause instanceof AeontelError ? cause : networkError(cause, "the upload URL source");
      set(() => {
        setError(failure);
        setState(failure.code === "upload_canceled" ? "canceled" : "error");
      });
      latest.current.onError?.(failure);
      throw failure;
    }
  }, []);

  const cancel = useCallback(() => controller.current?.abort(), []);
  const reset = useCallback(() => {
    controller.current?.abort();
    controller.current = null;
    setState("idle");
    setProgress(null);
    setResult(null);
    setError(null);
    setUploadUrl(null);
    setResumableUrl(null);
  }, []);

  return { upload, cancel, reset, state, progress, result, error, uploadUrl, resumableUrl };
}

/** `GET` on a one-time upload URL: its state, the file it made and (once processed) the image. No credentials. */
export async function fetchUploadStatus(uploadUrl: string, signal?: AbortSignal): Promise<UploadUrlStatus> {
  let response: Response;
  try {
    response = await fetch(uploadUrl, { headers: { Accept: "application/json" }, credentials: "omit", signal });
  } catch (cause) {
    if (signal?.aborted) throw cause;
    throw networkError(cause, uploadUrl);
  }
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as UploadUrlStatus;
}

export type UseUploadedImageOptions = Omit<UseQueryOptions<UploadUrlStatus, AeontelError>, "queryKey" | "queryFn">;

/**
 * Follows an upload until its file is an image (or failed), polling the upload URL every `interval` ms; `data.image`
 * is then ready for `<AeontelImage image={…}>`. Needs only a QueryClient, no token.
 */
export function useUploadedImage(uploadUrl: string | null | undefined, interval = 500,
                                 options: UseUploadedImageOptions = {}): UseQueryResult<UploadUrlStatus, AeontelError> {
  return useQuery<UploadUrlStatus, AeontelError>({
    retry: (count, error) => error.status === 0 && count < 3,
    ...options,
    enabled: Boolean(uploadUrl) && (options.enabled ?? true),
    queryKey: ["aeontel", "uploads", uploadUrl ?? ""],
    queryFn: ({ signal }) => fetchUploadStatus(uploadUrl!, signal),
    refetchInterval: (query) => {
      const data = query.state.data;
      return data && (data.image || data.file?.status === "error" || (data.file && !data.file.isImage)) ? false : interval;
    },
  });
}
