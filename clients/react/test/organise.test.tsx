/**
 * Collections and tags against the real server, in workspace O (its own): a collection is made, filled by ids, listed with its
 * count; tags are added in bulk, suggested as one types, and the image list filters by both.
 */
import { renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import {
  AeontelError,
  imagesOf,
  useAddToCollection,
  useChangeTags,
  useCollections,
  useCreateCollection,
  useDeleteCollection,
  useListImages,
  useTagSuggestions,
} from "../src/index.js";
import { newQueryClient, server, tokenConfig, wrapperFor } from "./helpers.js";

const { o } = server;

describe("collections and tags", () => {
  it("makes a collection, fills it, tags its images and lists them by both", async () => {
    const wrapper = wrapperFor(tokenConfig(o.writeToken), newQueryClient());
    const name = `Picks ${Date.now()}`;
    const { result } = renderHook(() => ({
      create: useCreateCollection(),
      add: useAddToCollection(),
      tag: useChangeTags(),
      remove: useDeleteCollection(),
      collections: useCollections({ projectId: o.projectId }),
    }), { wrapper });
    const made = await result.current.create.mutateAsync({ projectId: o.projectId, name });
    const ids = o.fileIds.slice(0, 2);
    const added = await result.current.add.mutateAsync({ collectionId: made.id, selection: { ids } });
    expect(added.changed).toBe(2);
    await waitFor(() =>
      expect(result.current.collections.data?.data.find((c) => c.id === made.id)?.imageCount).toBe(2));
    const key = `hook-${Date.now()}`;
    expect((await result.current.tag.mutateAsync({ ids: [ids[0]!], add: [key] })).changed).toBe(1);

    const { result: found } = renderHook(() => ({
      both: useListImages({ collection: made.id, tag: [key.toUpperCase()] }),
      suggested: useTagSuggestions(key.slice(0, 6).toUpperCase()),
    }), { wrapper });
    await waitFor(() => expect(found.current.both.isSuccess && found.current.suggested.isSuccess).toBe(true));
    expect(imagesOf(found.current.both.data).map((image) => [image.fileId, image.tags, image.collections]))
      .toEqual([[ids[0], [key], [made.id]]]);
    expect(found.current.suggested.data?.data.map((tag) => tag.name)).toContain(key);

    const clash = await result.current.create.mutateAsync({ projectId: o.projectId, name: name.toUpperCase() })
      .catch((error: unknown) => error);
    expect(clash).toBeInstanceOf(AeontelError);
    expect((clash as AeontelError).code).toBe("collection_exists");
    await result.current.remove.mutateAsync(made.id);
    await waitFor(() => expect(result.current.collections.data?.data.some((c) => c.id === made.id)).toBe(false));
  });
});
