import type { InvalidateQueryFilters, QueryClient } from "@tanstack/react-query";
import type { ImageFilters, ListImagesParams, ListSavedViewsParams } from "./types.js";

/**
 * Query keys of the hooks, for your own refetch after a write (an upload, say):
 * `refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageLists() })`.
 */
export const aeontelKeys = {
  all: ["aeontel"] as const,
  images: () => [...aeontelKeys.all, "images"] as const,
  imageLists: () => [...aeontelKeys.images(), "list"] as const,
  imageList: (params: ListImagesParams) => [...aeontelKeys.imageLists(), normalizeListParams(params)] as const,
  imageDetails: () => [...aeontelKeys.images(), "detail"] as const,
  imageDetail: (fileId: string) => [...aeontelKeys.imageDetails(), fileId] as const,
  versions: (fileId: string) => [...aeontelKeys.all, "files", fileId, "versions"] as const,
  imageFacets: (params: ImageFilters) => [...aeontelKeys.images(), "facets", normalizeListParams(params)] as const,
  collections: () => [...aeontelKeys.all, "collections"] as const,
  collectionList: (workspaceId?: string, projectId?: string) =>
    [...aeontelKeys.collections(), "list", workspaceId ?? "", projectId ?? ""] as const,
  tags: () => [...aeontelKeys.all, "tags"] as const,
  tagSuggestions: (prefix: string, workspaceId?: string) =>
    [...aeontelKeys.tags(), "suggest", workspaceId ?? "", prefix] as const,
  views: () => [...aeontelKeys.all, "views"] as const,
  viewLists: () => [...aeontelKeys.views(), "list"] as const,
  viewList: (params: ListSavedViewsParams) =>
    [...aeontelKeys.viewLists(), { workspaceId: params.workspaceId || undefined, projectId: params.projectId || undefined }] as const,
  viewImages: (viewId: string, limit?: number) => [...aeontelKeys.views(), "images", viewId, { limit }] as const,
};

export type ImageListKey = ReturnType<typeof aeontelKeys.imageList>;
export type ImageDetailKey = ReturnType<typeof aeontelKeys.imageDetail>;
export type VersionsKey = ReturnType<typeof aeontelKeys.versions>;
export type ImageFacetsKey = ReturnType<typeof aeontelKeys.imageFacets>;
export type SavedViewListKey = ReturnType<typeof aeontelKeys.viewList>;
export type SavedViewImagesKey = ReturnType<typeof aeontelKeys.viewImages>;

/** Leaves out unset and empty filters, so `{q: ""}` and `{}` share one cache entry, as they share one answer. */
export function normalizeListParams(params: ListImagesParams): ListImagesParams {
  const out: ListImagesParams = {};
  if (params.workspaceId) out.workspaceId = params.workspaceId;
  if (params.projectId) out.projectId = params.projectId;
  if (params.limit !== undefined) out.limit = params.limit;
  if (params.q) out.q = params.q;
  if (params.sort) out.sort = params.sort;
  if (params.format) out.format = params.format;
  if (params.hasAltText !== undefined) out.hasAltText = params.hasAltText;
  if (params.createdAfter) out.createdAfter = params.createdAfter;
  if (params.createdBefore) out.createdBefore = params.createdBefore;
  for (const name of FACTS) {
    const value = params[name];
    if (value !== undefined && value !== "") (out as Record<string, unknown>)[name] = value;
  }
  if (params.collection) out.collection = params.collection;
  if (params.tag?.length) out.tag = [...params.tag].sort();
  if (params.count) out.count = true;
  return out;
}

/** The image facts among the filters (camelCase here, snake_case in the API). */
export const FACTS = [
  "camera",
  "cameraMake",
  "lens",
  "takenAfter",
  "takenBefore",
  "orientation",
  "minWidth",
  "maxWidth",
  "minHeight",
  "maxHeight",
  "minSize",
  "maxSize",
  "source",
  "colour",
] as const satisfies readonly (keyof ImageFilters)[];

/**
 * Marks the matching queries stale and fetches the active ones again, as every hook does after a write. A query still
 * on its first fetch is cancelled first: TanStack Query joins an invalidation to a first fetch in flight (there is no
 * data to keep), and that fetch may have been answered before the write, so its list would never show it.
 */
export async function refetchAfterWrite(queryClient: QueryClient, filters: InvalidateQueryFilters): Promise<void> {
  await queryClient.cancelQueries({
    ...filters,
    predicate: (query) =>
      query.state.data === undefined && query.state.fetchStatus === "fetching" && (filters.predicate?.(query) ?? true),
  });
  await queryClient.invalidateQueries(filters);
}
