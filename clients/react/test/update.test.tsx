/**
 * Editing against the real server, in workspace B (the other files only read B's ids): the optimistic edit of the
 * cached lists and the retrieved image, the server's answer replacing it, and the rollback when the server refuses.
 * Then the client's Retry-After handling, against a small real HTTP server that answers 429 before it answers 200.
 */
import { renderHook, waitFor } from "@testing-library/react";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AeontelError,
  createAeontelClient,
  imagesOf,
  useListImages,
  useRetrieveImage,
  useUpdateImage,
} from "../src/index.js";
import { newQueryClient, server, tokenConfig, wrapperFor } from "./helpers.js";

const { b } = server;

/** A fetch that holds PATCH requests until released, to look at the state between the edit and the answer. */
function holdingFetch() {
  let open: (() => void) | null = null;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const fetcher: typeof globalThis.fetch = async (input, init) => {
    if (init?.method === "PATCH") await gate;
    return globalThis.fetch(input, init);
  };
  return { fetch: fetcher, release: () => open?.() };
}

describe("useUpdateImage", () => {
  it("shows the edit at once in lists and the retrieved image, then keeps the server's answer", async () => {
    const target = b.fileIds[0]!;
    const held = holdingFetch();
    const wrapper = wrapperFor(tokenConfig(b.writeToken, held.fetch), newQueryClient());
    const { result } = renderHook(() => ({
      list: useListImages({}),
      sorted: useListImages({ sort: "name" }),
      one: useRetrieveImage(target),
      update: useUpdateImage(),
    }), { wrapper });
    await waitFor(() => expect(result.current.list.isSuccess && result.current.sorted.isSuccess
      && result.current.one.isSuccess && !result.current.one.isPlaceholderData).toBe(true));

    result.current.update.mutate({ fileId: target, changes: { altText: "  A  quiet beach ", focalPoint: { x: 0.2, y: 0.8 } } });
    const shown = (images: ReturnType<typeof imagesOf>) => images.find((image) => image.fileId === target);
    await waitFor(() => expect(result.current.one.data?.altText).toBe("A quiet beach"));
    expect(shown(imagesOf(result.current.list.data))?.focalPoint).toEqual({ x: 0.2, y: 0.8 });
    expect(shown(imagesOf(result.current.sorted.data))?.altText).toBe("A quiet beach");
    expect(result.current.update.isPending).toBe(true); // the server has not answered yet

    held.release();
    await waitFor(() => expect(result.current.update.isSuccess).toBe(true));
    const check = createAeontelClient({ baseUrl: server.baseUrl, token: b.readToken });
    const stored = await check.retrieveImage(target);
    expect(stored.altText).toBe("A quiet beach");
    expect(stored.focalPoint).toEqual({ x: 0.2, y: 0.8 });
    await waitFor(() => expect(result.current.one.data).toEqual(stored));
  });

  it("puts everything back when the server refuses (a read token: 403)", async () => {
    const target = b.fileIds[1]!;
    const wrapper = wrapperFor(tokenConfig(b.readToken), newQueryClient());
    const { result } = renderHook(() => ({ list: useListImages({}), one: useRetrieveImage(target),
                                           update: useUpdateImage() }), { wrapper });
    await waitFor(() => expect(result.current.list.isSuccess && result.current.one.isSuccess).toBe(true));
    const before = result.current.one.data!;

    result.current.update.mutate({ fileId: target, changes: { name: "renamed.jpg", decorative: true } });
    await waitFor(() => expect(result.current.update.isError).toBe(true));
    expect(result.current.update.error).toBeInstanceOf(AeontelError);
    expect(result.current.update.error).toMatchObject({ status: 403, code: "insufficient_scope" });
    expect(result.current.one.data).toEqual(before);
    expect(imagesOf(result.current.list.data).find((image) => image.fileId === target)?.name).toBe(before.name);
  });

  it("refuses bad values with the field named, and changes nothing on the server", async () => {
    const client = createAeontelClient({ baseUrl: server.baseUrl, token: b.writeToken });
    const target = b.fileIds[1]!;
    await expect(client.updateImage(target, { focalPoint: { x: 2, y: 0 } }))
      .rejects.toMatchObject({ status: 400, code: "invalid_field" });
    await expect(client.updateImage(target, { decorative: true, altText: "words" }))
      .rejects.toMatchObject({ status: 400, code: "alt_text_on_decorative" });
    expect((await client.retrieveImage(target)).focalPoint).toBeNull();
  });
});

describe("Retry-After", () => {
  let http: Server;
  let baseUrl = "";
  let refusals = 0;
  let seen = 0;

  beforeAll(async () => {
    http = createServer((request, response) => {
      seen += 1;
      const hour = request.url?.includes("hour");
      if (refusals > 0) {
        refusals -= 1;
        response.writeHead(429, { "Content-Type": "application/problem+json", "Retry-After": hour ? "3600" : "0" });
        response.end(JSON.stringify({ type: "about:blank", title: "Too Many Requests", status: 429,
                                      code: "rate_limited", detail: "Too many." }));
        return;
      }
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ object: "list", data: [], has_more: false, next_cursor: null }));
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => http.close(() => resolve())));

  it("waits and sends again, a bounded number of times", async () => {
    refusals = 2;
    seen = 0;
    const client = createAeontelClient({ baseUrl, token: "aet_x" });
    await expect(client.listImages({})).resolves.toMatchObject({ object: "list" });
    expect(seen).toBe(3);

    refusals = 5;
    seen = 0;
    const impatient = createAeontelClient({ baseUrl, token: "aet_x", maxRetries: 2 });
    await expect(impatient.listImages({})).rejects.toMatchObject({ status: 429, code: "rate_limited" });
    expect(seen).toBe(3);

    refusals = 1;
    seen = 0;
    const capped = createAeontelClient({ baseUrl: `${baseUrl}/hour`, token: "aet_x", maxRetryWaitMs: 5 });
    await expect(capped.listImages({})).resolves.toMatchObject({ object: "list" }); // not an hour later
    expect(seen).toBe(2);
  });
});
