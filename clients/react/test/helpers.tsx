import { QueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { inject } from "vitest";
import { AeontelProvider, createAeontelClient, type AeontelConfig, type Image } from "../src/index.js";
import type { Tenant } from "./server-info.js";

export const server = inject("aeontel");

export function newQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { gcTime: 60_000 } } });
}

export interface Call {
  method: string;
  url: string;
  headers: Headers;
  status?: number;
}

/**
 * Node's own fetch (undici: no CORS, it reaches the real server on loopback), recording each call; deletes can be
 * held back (`holdDeletes`) to look at the state between the optimistic update and the server's answer.
 */
export function recordingFetch() {
  const calls: Call[] = [];
  let gate: Promise<void> | null = null;
  let open: (() => void) | null = null;
  const nodeFetch = globalThis.fetch;
  const fetcher: typeof globalThis.fetch = async (input, init) => {
    const call: Call = { method: init?.method ?? "GET", url: String(input), headers: new Headers(init?.headers) };
    calls.push(call);
    if (call.method === "DELETE" && gate) await gate;
    const response = await nodeFetch(input, init);
    call.status = response.status;
    return response;
  };
  return {
    fetch: fetcher,
    calls,
    holdDeletes() {
      gate = new Promise<void>((resolve) => (open = resolve));
    },
    releaseDeletes() {
      open?.();
      gate = null;
    },
  };
}

export function wrapperFor(config: AeontelConfig, queryClient: QueryClient) {
  return function Wrapper({ children }: { children: ReactNode }) {
    return (
      <AeontelProvider {...config} queryClient={queryClient}>
        {children}
      </AeontelProvider>
    );
  };
}

export function tokenConfig(token: string, fetcher?: typeof globalThis.fetch): AeontelConfig {
  return { baseUrl: server.baseUrl, token, fetch: fetcher };
}

/** What the server lists for a tenant right now, newest first (straight from the API, not through the hooks). */
export async function serverImages(tenant: Tenant): Promise<Image[]> {
  const client = createAeontelClient({ baseUrl: server.baseUrl, token: tenant.readToken });
  return (await client.listImages({ limit: 100 })).data;
}

export const ids = (images: Image[]) => images.map((image) => image.fileId);

/** CSS colour "#rrggbb" as jsdom reports it in a style. */
export function rgb(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

/**
 * Node's fetch for multipart bodies: jsdom's `FormData` and `Blob` (the test environment's globals, what a browser's
 * would be) are carried over into Node's own, which its fetch can send; any other call goes through unchanged.
 */
export const multipartFetch: typeof globalThis.fetch = async (input, init) => {
  if (!(init?.body instanceof FormData)) return globalThis.fetch(input, init);
  const NodeFormData = (await new Response(new URLSearchParams()).formData()).constructor as typeof FormData;
  const form = new NodeFormData();
  for (const [key, value] of init.body.entries()) {
    if (typeof value === "string") form.append(key, value);
    else form.append(key, await new Response(await value.arrayBuffer()).blob(), (value as File).name);
  }
  return globalThis.fetch(input, { ...init, body: form });
};
