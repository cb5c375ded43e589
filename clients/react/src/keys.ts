import type { ListImagesParams } from "./types.js";

/**
 * Query keys of the hooks, for your own `invalidateQueries` (after an upload, say):
 * `queryClient.invalidateQueries({ queryKey: aeontelKeys.imageLists() })`.
 */
export const aeontelKeys = {
  all: ["aeontel"] as const,
  images: () => [...aeontelKeys.all, "images"] as const,
  imageLists: () => [...aeontelKeys.images(), "list"] as const,
  imageList: (params: ListImagesParams) => [...aeontelKeys.imageLists(), normalizeListParams(params)] as const,
  imageDetails: () => [...aeontelKeys.images(), "detail"] as const,
  imageDetail: (fileId: string) => [...aeontelKeys.imageDetails(), fileId] as const,
};

export type ImageListKey = ReturnType<typeof aeontelKeys.imageList>;
export type ImageDetailKey = ReturnType<typeof aeontelKeys.imageDetail>;

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
  if (params.count) out.count = true;
  return out;
}
