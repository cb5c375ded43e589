/** Listing and retrieving against the real server: pages, filters, the grid, and typed errors. */
import { act, render, renderHook, screen, waitFor, within } from "@testing-library/react";
import { userEvent } from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ImageGrid } from "../examples/ImageGrid.js";
import { AeontelError, imagesOf, useDeleteImage, useListImages, useRetrieveImage } from "../src/index.js";
import { ids, newQueryClient, recordingFetch, rgb, server, serverImages, tokenConfig, wrapperFor } from "./helpers.js";

const { a, b } = server;
const MISSING = "fil_00000000000000000000000000";

describe("useListImages", () => {
  it("walks the list a page at a time with fetchNextPage while hasNextPage", async () => {
    const wrapper = wrapperFor(tokenConfig(a.readToken), newQueryClient());
    const { result } = renderHook(() => useListImages({ limit: 3 }), { wrapper });

    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(result.current.data!.pages).toHaveLength(1);
    expect(ids(imagesOf(result.current.data))).toEqual(a.fileIds.slice(0, 3));
    expect(result.current.hasNextPage).toBe(true);

    await act(() => result.current.fetchNextPage());
    await waitFor(() => expect(result.current.data!.pages).toHaveLength(2));
    expect(ids(result.current.data!.pages[1]!.data)).toEqual(a.fileIds.slice(3, 6));
    expect(result.current.hasNextPage).toBe(true);

    await act(() => result.current.fetchNextPage());
    await waitFor(() => expect(result.current.data!.pages).toHaveLength(3));
    expect(ids(imagesOf(result.current.data))).toEqual(a.fileIds);
    expect(result.current.hasNextPage).toBe(false);
    expect(result.current.data!.pages[2]!.next_cursor).toBeNull();
  });

  it("filters by project and by name, with the workspace named or defaulted", async () => {
    const wrapper = wrapperFor(tokenConfig(a.readToken), newQueryClient());
    const { result } = renderHook(
      () => ({
        blog: useListImages({ projectId: a.otherProjectId }),
        website: useListImages({ workspaceId: a.workspaceId, projectId: a.projectId }),
        named: useListImages({ q: "PHOTO-2" }),
      }),
      { wrapper },
    );
    await waitFor(() => expect(Object.values(result.current).every((query) => query.isSuccess)).toBe(true));
    expect(imagesOf(result.current.blog.data).map((image) => image.name)).toEqual(["blog-header.jpg"]);
    expect(ids(imagesOf(result.current.website.data))).toEqual(a.fileIds.filter(
      (id) => id !== imagesOf(result.current.blog.data)[0]!.fileId));
    expect(imagesOf(result.current.named.data).map((image) => image.name)).toEqual(["photo-2.jpg"]);
  });

  it("sorts by date taken, oldest first, with the id breaking ties", async () => {
    const wrapper = wrapperFor(tokenConfig(a.readToken), newQueryClient());
    const { result } = renderHook(() => useListImages({ sort: "taken", limit: 100 }), { wrapper });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    const listed = imagesOf(result.current.data);
    const order = (x: (typeof listed)[number], y: (typeof listed)[number]) =>
      Date.parse(x.takenAt!) - Date.parse(y.takenAt!) || (x.fileId < y.fileId ? -1 : 1);
    expect(ids(listed)).toEqual(ids([...listed].sort(order)));
    expect(new Set(ids(listed))).toEqual(new Set(a.fileIds));
  });

  it("renders the README's grid: dominant colour and size before the pixels, more on demand", async () => {
    const user = userEvent.setup();
    const { container } = render(<ImageGrid limit={4} />, { wrapper: wrapperFor(tokenConfig(a.readToken), newQueryClient()) });

    await waitFor(() => expect(container.querySelectorAll("figure")).toHaveLength(4));
    await user.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(container.querySelectorAll("figure")).toHaveLength(a.fileIds.length));
    expect(screen.queryByRole("button", { name: "Load more" })).toBeNull();

    const images = await serverImages(a);
    const figures = [...container.querySelectorAll<HTMLElement>("figure")];
    expect(figures.map((figure) => figure.dataset.fileId)).toEqual(a.fileIds);
    for (const figure of figures) {
      const image = images.find((one) => one.fileId === figure.dataset.fileId)!;
      expect(image.placeholder.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
      const box = figure.querySelector("div")!;
      expect(box.style.background).toBe(rgb(image.placeholder.dominantColor!));
      const img = within(figure).getByRole("img");
      expect(img.getAttribute("width")).toBe(String(image.width));
      expect(img.getAttribute("height")).toBe(String(image.height));
      expect(img.getAttribute("src")).toBe(image.variants.thumbnail);
      expect(img.getAttribute("alt")).toBe(image.name);
    }
  });

  it("types a bad token's 401 from problem+json, without retrying", async () => {
    const recorder = recordingFetch();
    const wrapper = wrapperFor(tokenConfig("aet_this-token-does-not-exist", recorder.fetch), newQueryClient());
    const { result } = renderHook(() => useListImages({ limit: 3 }), { wrapper });

    await waitFor(() => expect(result.current.isError).toBe(true));
    const error = result.current.error!;
    expect(error).toBeInstanceOf(AeontelError);
    expect(error).toMatchObject({ status: 401, code: "invalid_token", title: "Unauthorized" });
    expect(error.detail).toMatch(/unknown or revoked/);
    expect(error.type).toBe("https://aeontel.dev/problems/invalid_token");
    // A 401 is final: asked until it came, and not after.
    expect(recorder.calls.map((call) => call.status).filter((status) => status !== undefined)).toEqual([401]);
    expect(recorder.calls.at(-1)!.headers.get("Authorization")).toBe("Bearer aet_this-token-does-not-exist");
  });

  it("names the parameter at fault on a validation error", async () => {
    const wrapper = wrapperFor(tokenConfig(a.readToken), newQueryClient());
    const { result } = renderHook(() => useListImages({ limit: 101 }), { wrapper });
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect(result.current.error).toMatchObject({ status: 400, code: "invalid_limit", parameter: "limit" });
  });
});

describe("useRetrieveImage", () => {
  it("retrieves one image in the list's shape", async () => {
    const wrapper = wrapperFor(tokenConfig(a.readToken), newQueryClient());
    const fileId = a.fileIds[1]!;
    const { result } = renderHook(() => useRetrieveImage(fileId), { wrapper });

    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    const image = result.current.data!;
    expect(image).toEqual((await serverImages(a)).find((one) => one.fileId === fileId));
    expect(image).toMatchObject({ object: "image", fileId, workspaceId: a.workspaceId, mimeType: "image/jpeg" });
    expect(image.width).toBeGreaterThan(0);
    expect(image.height).toBeGreaterThan(0);
    expect(image.placeholder.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
    expect(image.versionedUrl).toBe(image.variants.public);
    expect(image.versionedUrl.startsWith(server.imagesUrl)).toBe(true);
    expect(image.url).toBe(`${server.baseUrl}/i/${image.fileId}/public`); // the stable URL: the product's redirect
  });

  it("is idle without an id", () => {
    const wrapper = wrapperFor(tokenConfig(a.readToken), newQueryClient());
    const { result } = renderHook(() => useRetrieveImage(undefined), { wrapper });
    expect(result.current.fetchStatus).toBe("idle");
    expect(result.current.isPending).toBe(true);
  });

  it("types a 404 as image_not_found, the same for a missing id and another workspace's", async () => {
    const recorder = recordingFetch();
    const wrapper = wrapperFor(tokenConfig(a.readToken, recorder.fetch), newQueryClient());
    const { result } = renderHook(() => ({ missing: useRetrieveImage(MISSING), foreign: useRetrieveImage(b.fileIds[0]) }),
      { wrapper });

    await waitFor(() => expect(result.current.missing.isError && result.current.foreign.isError).toBe(true));
    for (const query of [result.current.missing, result.current.foreign]) {
      expect(query.error).toBeInstanceOf(AeontelError);
      expect(query.error).toMatchObject({ status: 404, code: "image_not_found", title: "Not Found",
                                          type: "https://aeontel.dev/problems/image_not_found" });
    }
    expect(result.current.missing.error!.detail).toContain(MISSING);
    // A 404 is final: each id was asked until its 404 came, and not after.
    for (const fileId of [MISSING, b.fileIds[0]!]) {
      const asked = recorder.calls.filter((call) => call.url === `${server.baseUrl}/api/images/${fileId}`);
      expect(asked.map((call) => call.status).filter((status) => status !== undefined)).toEqual([404]);
      expect(asked.at(-1)!.status).toBe(404);
    }
  });
});

describe("session cookies", () => {
  it("sends no Authorization, and the CSRF token only on writes", async () => {
    const recorder = recordingFetch();
    const wrapper = wrapperFor({ baseUrl: server.baseUrl, credentials: "same-origin", csrfToken: () => "csrf-from-meta",
                                 fetch: recorder.fetch }, newQueryClient());
    const { result } = renderHook(() => ({ list: useListImages({ workspaceId: a.workspaceId }), remove: useDeleteImage() }),
      { wrapper });
    await waitFor(() => expect(result.current.list.isError).toBe(true));
    // Node has no session cookie for the server: the API says so, typed.
    expect(result.current.list.error).toMatchObject({ status: 401, code: "unauthorized" });

    act(() => result.current.remove.mutate(a.fileIds[0]!));
    await waitFor(() => expect(result.current.remove.isError).toBe(true));
    expect(result.current.remove.error).toMatchObject({ status: 401, code: "unauthorized" });

    const [list, remove] = [recorder.calls.find((c) => c.method === "GET")!, recorder.calls.find((c) => c.method === "DELETE")!];
    expect(list.url).toBe(`${server.baseUrl}/api/images?workspace_id=${a.workspaceId}`);
    expect(list.headers.has("Authorization") || list.headers.has("X-CSRFToken")).toBe(false);
    expect(remove.headers.get("X-CSRFToken")).toBe("csrf-from-meta");
    expect(remove.headers.has("Authorization")).toBe(false);
    expect((await serverImages(a)).map((image) => image.fileId)).toEqual(a.fileIds); // nothing was deleted
  });
});
