import { useQuery, type UseQueryOptions, type UseQueryResult } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { AeontelError, errorFromResponse, networkError } from "./errors.js";
import type { UploadUrl, UploadUrlStatus } from "./types.js";

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

export interface UploadProgress {
  /** Bytes of the request body sent so far (the multipart framing included). */
  loaded: number;
  total: number;
  /** 0 to 1. */
  fraction: number;
}

export type UploadState = "idle" | "preparing" | "uploading" | "done" | "error" | "canceled";

export interface UseUploadFileOptions {
  uploadUrl: UploadUrlSource;
  onProgress?: (progress: UploadProgress) => void;
  onSuccess?: (result: UploadUrlStatus) => void;
  onError?: (error: AeontelError) => void;
}

export interface UseUploadFileResult {
  /** Uploads one file; resolves with the upload URL's status (its `file`; the `image` comes later), or rejects. */
  upload: (file: Blob, name?: string) => Promise<UploadUrlStatus>;
  /** Aborts the upload in flight: it rejects with code `upload_canceled`, and the URL stays usable. */
  cancel: () => void;
  reset: () => void;
  state: UploadState;
  progress: UploadProgress | null;
  result: UploadUrlStatus | null;
  error: AeontelError | null;
  /** The URL the last upload went to, to follow its image with `useUploadedImage`. */
  uploadUrl: string | null;
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
  onProgress?: (progress: UploadProgress) => void } = {}): Promise<UploadUrlStatus> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(canceled());
    const xhr = new XMLHttpRequest();
    const body = new FormData();
    body.append("file", file, options.name ?? (file as File).name ?? "upload");
    xhr.open("POST", uploadUrl);
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

/**
 * Uploads files from the browser without a secret: `upload(file)` gets a one-time URL (given, or from your server),
 * posts the file there with progress, and returns what the server stored. `cancel()` aborts it.
 */
export function useUploadFile(options: UseUploadFileOptions): UseUploadFileResult {
  const latest = useRef(options);
  latest.current = options;
  const controller = useRef<AbortController | null>(null);
  const mounted = useRef(true);
  const [state, setState] = useState<UploadState>("idle");
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [result, setResult] = useState<UploadUrlStatus | null>(null);
  const [error, setError] = useState<AeontelError | null>(null);
  const [uploadUrl, setUploadUrl] = useState<string | null>(null);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      controller.current?.abort();
    };
  }, []);

  const upload = useCallback(async (file: Blob, name?: string) => {
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
    });
    try {
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
      const done = await uploadToUrl(target.uploadUrl, file, {
        name: fileName,
        signal: abort.signal,
        onProgress: (next) => {
          set(() => setProgress(next));
          latest.current.onProgress?.(next);
        },
      });
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
  }, []);

  return { upload, cancel, reset, state, progress, result, error, uploadUrl };
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
