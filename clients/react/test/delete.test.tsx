/**
 * Deleting against the real server, in workspace C (the other files only read A): the optimistic update, its
 * rollback on refusal, and the refetch that follows. Each starts from what the server holds at that moment, and C
 * has enough images for any order (vitest shuffles them).
 */
import { act, render, renderHook, screen, waitFor } from "@testing-library/react";
import { userEvent } from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ImageGrid } from "../examples/ImageGrid.js";
import {
  AeontelError,
  aeontelKeys,
  createAeontelClient,
  imagesOf,
  useDeleteImage,
  useListImages,
  type ImagePages,
} from "../src/index.js";
import { signIn } from "./browser-session.js";
import { ids, newQueryClient, recordingFetch, server, serverImages, tokenConfig, wrapperFor } from "./helpers.js";

const { b, c } = server;

function AllNames() {
  const all = useListImages({});
  return <ol data-testid="all">{imagesOf(all.data).map((image) => <li key={image.fileId}>{image.fileId}</li>)}</ol>;
}

describe("useDeleteImage", () => {
  it("takes the image out of every cached list page before the server answers, and it stays out", async () => {
    const user = userEvent.setup();
    const before = await serverImages(c);
    expect(before.length).toBeGreaterThanOrEqual(4);
    const target = before[2]!; // on the second page of the grid (2 a page)
    const recorder = recordingFetch();
    const queryClient = newQueryClient();
    const { container } = render(<><ImageGrid limit={2} /><AllNames /></>,
      { wrapper: wrapperFor(tokenConfig(c.writeToken, recorder.fetch), queryClient) });
    const grid = () => [...container.querySelectorAll<HTMLElement>("figure")].map((figure) => figure.dataset.fileId);
    const all = () => [...screen.getByTestId("all").querySelectorAll("li")].map((li) => li.textContent);

    await waitFor(() => expect(grid()).toHaveLength(2));
    await user.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(grid()).toEqual(ids(before).slice(0, 4)));
    await waitFor(() => expect(all()).toEqual(ids(before)));

    recorder.holdDeletes();
    await user.click(screen.getByRole("button", { name: `Delete ${target.name}` }));
    // Gone from both lists (two cache entries, one of them paged) while the DELETE is still held back.
    await waitFor(() => expect(grid()).not.toContain(target.fileId));
    expect(all()).not.toContain(target.fileId);
    const deleteCall = recorder.calls.find((call) => call.method === "DELETE")!;
    expect(deleteCall.url).toBe(`${server.baseUrl}/api/images/${target.fileId}`);
    expect(deleteCall.status).toBeUndefined(); // no answer yet
    expect(grid()).toEqual(ids(before).filter((id) => id !== target.fileId).slice(0, 3));

    const callsBefore = recorder.calls.length;
    recorder.releaseDeletes();
    await waitFor(() => expect(deleteCall.status).toBe(200));
    // Then both lists are refetched from the server (every loaded page), and the image stays gone.
    await waitFor(() => expect(recorder.calls.slice(callsBefore).filter((call) => call.method === "GET").length)
      .toBeGreaterThanOrEqual(3));
    await waitFor(() => expect(queryClient.isFetching()).toBe(0));
    expect(grid()).toEqual(ids(before).filter((id) => id !== target.fileId).slice(0, 4));
    expect(all()).toEqual(ids(before).filter((id) => id !== target.fileId));
    expect(screen.queryByRole("alert")).toBeNull();

    const check = createAeontelClient({ baseUrl: server.baseUrl, token: c.readToken });
    await expect(check.retrieveImage(target.fileId)).rejects.toMatchObject({ status: 404, code: "image_not_found" });
  });

  it("puts the image back where it was when the server refuses (a read token: 403)", async () => {
    const before = await serverImages(c);
    const target = before[1]!;
    const recorder = recordingFetch();
    const wrapper = wrapperFor(tokenConfig(c.readToken, recorder.fetch), newQueryClient());
    const { result } = renderHook(() => ({ list: useListImages({}), remove: useDeleteImage() }), { wrapper });
    await waitFor(() => expect(result.current.list.isSuccess).toBe(true));
    expect(ids(imagesOf(result.current.list.data))).toEqual(ids(before));

    recorder.holdDeletes();
    act(() => result.current.remove.mutate(target.fileId));
    await waitFor(() => expect(ids(imagesOf(result.current.list.data))).not.toContain(target.fileId));
    recorder.releaseDeletes();

    await waitFor(() => expect(result.current.remove.isError).toBe(true));
    const error = result.current.remove.error!;
    expect(error).toBeInstanceOf(AeontelError);
    expect(error).toMatchObject({ status: 403, code: "insufficient_scope", title: "Forbidden" });
    await waitFor(() => expect(ids(imagesOf(result.current.list.data))).toEqual(ids(before)));
    await waitFor(() => expect(result.current.list.isFetching).toBe(false));
    expect(ids(imagesOf(result.current.list.data))).toEqual(ids(before));
    expect(ids(await serverImages(c))).toEqual(ids(before));
  });

  it("rolls back a 404 for another workspace's image, and that image is untouched", async () => {
    const foreignId = b.fileIds[0]!;
    const foreign = (await serverImages(b)).find((image) => image.fileId === foreignId)!;
    const queryClient = newQueryClient();
    const seen: { atError?: string[] } = {};
    const wrapper = wrapperFor(tokenConfig(c.writeToken), queryClient);
    const { result } = renderHook(() => ({
      list: useListImages({}),
      remove: useDeleteImage({
        onError: () => {
          const data = queryClient.getQueryData<ImagePages>(aeontelKeys.imageList({}));
          seen.atError = ids(imagesOf(data));
        },
      }),
    }), { wrapper });
    await waitFor(() => expect(result.current.list.isSuccess).toBe(true));
    // A stale cache that holds an id this token cannot touch (say, handed over from another session's page).
    const own = imagesOf(result.current.list.data);
    act(() => {
      queryClient.setQueryData<ImagePages>(aeontelKeys.imageList({}), (data) => ({
        ...data!, pages: [{ ...data!.pages[0]!, data: [own[0]!, foreign, ...own.slice(1)] }, ...data!.pages.slice(1)],
      }));
    });
    const withForeign = [own[0]!.fileId, foreignId, ...ids(own.slice(1))];
    await waitFor(() => expect(ids(imagesOf(result.current.list.data))).toEqual(withForeign));

    act(() => result.current.remove.mutate(foreignId));
    await waitFor(() => expect(result.current.remove.isError).toBe(true));
    expect(result.current.remove.error).toMatchObject({ status: 404, code: "image_not_found" });
    expect(seen.atError).toEqual(withForeign); // restored, in place, when the error came
    // The refetch after it then shows what the server really lists for C.
    await waitFor(() => expect(ids(imagesOf(result.current.list.data))).toEqual(ids(own)));
    expect(ids(await serverImages(b))).toContain(foreignId);
  });

  it("undoes only its own removal when deletes overlap and one fails", async () => {
    const before = await serverImages(c);
    expect(before.length).toBeGreaterThanOrEqual(2);
    const [fails, succeeds] = [before[0]!, before[1]!];
    const recorder = recordingFetch();
    // The first delete never reaches the server (a dropped connection); the second one really deletes.
    const flaky: typeof fetch = (input, init) =>
      init?.method === "DELETE" && String(input).endsWith(fails.fileId)
        ? Promise.reject(new TypeError("fetch failed"))
        : recorder.fetch(input, init);
    const wrapper = wrapperFor(tokenConfig(c.writeToken, flaky), newQueryClient());
    const { result } = renderHook(() => ({ list: useListImages({}), first: useDeleteImage(), second: useDeleteImage() }),
      { wrapper });
    await waitFor(() => expect(result.current.list.isSuccess).toBe(true));

    recorder.holdDeletes(); // the successful delete is still in flight when the failed one rolls back
    act(() => {
      result.current.second.mutate(succeeds.fileId);
      result.current.first.mutate(fails.fileId);
    });
    await waitFor(() => expect(result.current.first.isError).toBe(true));
    expect(result.current.first.error).toMatchObject({ status: 0, code: "network_error" });
    const expected = ids(before).filter((id) => id !== succeeds.fileId);
    expect(ids(imagesOf(result.current.list.data))).toEqual(expected); // back: the failed one; still gone: the other
    recorder.releaseDeletes();
    await waitFor(() => expect(result.current.second.isSuccess).toBe(true));
    await waitFor(() => expect(result.current.list.isFetching).toBe(false));
    expect(ids(imagesOf(result.current.list.data))).toEqual(expected);
    expect(ids(await serverImages(c))).toEqual(expected);
  });
});

describe("useDeleteImage with a signed-in browser's session", () => {
  it("lists by workspace and deletes with the page's CSRF token; without a valid token it rolls back", async () => {
    const browser = await signIn(server.user.email, server.user.password);
    let csrf = "not-the-page-token";
    const before = await serverImages(c);
    const [kept, removed] = [before[0]!, before[1]!];
    const wrapper = wrapperFor({ baseUrl: server.baseUrl, credentials: "same-origin", csrfToken: () => csrf,
                                 fetch: browser.fetch }, newQueryClient());
    const { result } = renderHook(() => ({
      list: useListImages({ workspaceId: c.workspaceId }),
      unnamed: useListImages({}),
      remove: useDeleteImage(),
    }), { wrapper });

    await waitFor(() => expect(result.current.list.isSuccess).toBe(true));
    expect(ids(imagesOf(result.current.list.data))).toEqual(ids(before));
    // A session names its workspace: without one the API says which parameter is missing.
    await waitFor(() => expect(result.current.unnamed.isError).toBe(true));
    expect(result.current.unnamed.error).toMatchObject({ status: 400, code: "workspace_id_missing",
                                                        parameter: "workspace_id" });

    act(() => result.current.remove.mutate(kept.fileId));
    await waitFor(() => expect(result.current.remove.isError).toBe(true));
    expect(result.current.remove.error).toMatchObject({ status: 400, code: "csrf_failed" });
    await waitFor(() => expect(ids(imagesOf(result.current.list.data))).toEqual(ids(before)));

    csrf = browser.csrfToken;
    act(() => result.current.remove.mutate(removed.fileId));
    await waitFor(() => expect(result.current.remove.isSuccess).toBe(true));
    await waitFor(() => expect(result.current.list.isFetching).toBe(false));
    const after = ids(before).filter((id) => id !== removed.fileId);
    expect(ids(imagesOf(result.current.list.data))).toEqual(after);
    expect(ids(await serverImages(c))).toEqual(after);
  });
});
