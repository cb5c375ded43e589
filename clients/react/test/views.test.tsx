/**
 * Saved views against the real server, in workspace A with its write token (a token's views are its own; nothing
 * here changes an image): create, list, rename, run into images, delete; a refused query and a foreign view.
 */
import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AeontelError, createAeontelClient, useSavedViewImages, useSavedViews } from "../src/index.js";
import { newQueryClient, server, serverImages, tokenConfig, wrapperFor } from "./helpers.js";

const { a, b } = server;

describe("useSavedViews", () => {
  it("saves, lists, renames, runs and deletes a view", async () => {
    const queryClient = newQueryClient();
    const wrapper = wrapperFor(tokenConfig(a.writeToken), queryClient);
    const { result } = renderHook(() => useSavedViews({ projectId: a.projectId }), { wrapper });
    await waitFor(() => expect(result.current.views.isSuccess).toBe(true));
    const before = result.current.views.data!.data.length;
    let made: Awaited<ReturnType<typeof result.current.createView.mutateAsync>> | undefined;
    await act(async () => {
      made = await result.current.createView.mutateAsync({
        projectId: a.projectId, name: `Largest ${Date.now()}`, query: "sort=-size", layout: "table",
      });
    });
    expect(made!.query).toBe("sort=-size");
    expect(made!.url).toContain(`/views/${made!.id}`);
    await waitFor(() => expect(result.current.views.data!.data.map((v) => v.id)).toContain(made!.id));
    expect(result.current.views.data!.data.length).toBe(before + 1);

    const images = renderHook(() => useSavedViewImages(made!.id, 2), { wrapper });
    await waitFor(() => expect(images.result.current.isSuccess).toBe(true));
    const sizes = (await serverImages(a)).filter((image) => image.projectId === a.projectId)
      .map((image) => image.size).sort((x, y) => y - x);
    expect(images.result.current.data!.pages[0]!.data.map((image) => image.size)).toEqual(sizes.slice(0, 2));

    await act(async () => { await result.current.renameView.mutateAsync({ viewId: made!.id, name: `Renamed ${made!.id}` }); });
    await waitFor(() => expect(result.current.views.data!.data.find((v) => v.id === made!.id)?.name).toBe(`Renamed ${made!.id}`));
    await act(async () => { await result.current.deleteView.mutateAsync(made!.id); });
    await waitFor(() => expect(result.current.views.data!.data.map((v) => v.id)).not.toContain(made!.id));
  });

  it("refuses a query the engine does not take, and another workspace's view answers 404", async () => {
    const { result } = renderHook(() => useSavedViews(), { wrapper: wrapperFor(tokenConfig(a.writeToken), newQueryClient()) });
    await act(async () => {
      await result.current.createView.mutateAsync({ projectId: a.projectId, name: "Bad", query: "sort=biggest" })
        .catch(() => undefined);
    });
    await waitFor(() => expect(result.current.createView.isError).toBe(true));
    expect(result.current.createView.error).toBeInstanceOf(AeontelError);
    expect(result.current.createView.error?.code).toBe("invalid_view_query");
    const theirs = await createAeontelClient(tokenConfig(b.writeToken))
      .createView({ projectId: b.projectId, name: `B ${Date.now()}` });
    const error = await createAeontelClient(tokenConfig(a.readToken)).retrieveView(theirs.id).catch((e) => e);
    expect(error).toBeInstanceOf(AeontelError);
    expect((error as AeontelError).status).toBe(404);
    expect((error as AeontelError).code).toBe("view_not_found");
  });
});
