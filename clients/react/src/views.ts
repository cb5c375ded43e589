import {
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
  type UseInfiniteQueryResult,
  type UseMutationResult,
  type UseQueryResult,
} from "@tanstack/react-query";
import type { AeontelError } from "./errors.js";
import { retryTransient, type ImagePages } from "./hooks.js";
import { aeontelKeys, refetchAfterWrite, type SavedViewImagesKey, type SavedViewListKey } from "./keys.js";
import { useAeontelClient } from "./provider.js";
import type {
  ImageList,
  ListSavedViewsParams, SavedView, SavedViewInput, SavedViewDeleted, SavedViewList } from "./types.js";

export interface UseSavedViewsResult {
  /** The caller's saved views (a token's own views for a token caller), by name. */
  views: UseQueryResult<SavedViewList, AeontelError>;
  /** `mutate({projectId, name, query, layout})`; a query the server's engine refuses fails with `invalid_view_query`. */
  createView: UseMutationResult<SavedView, AeontelError, SavedViewInput>;
  /** `mutate({viewId, name})`: only the view's owner may (`403 view_not_yours`). */
  renameView: UseMutationResult<SavedView, AeontelError, { viewId: string; name: string }>;
  /** `mutate(viewId)`: only the view's owner may; the images it lists are untouched. */
  deleteView: UseMutationResult<SavedViewDeleted, AeontelError, string>;
}

/**
 * Saved views: the list, and create, rename and delete, each of which refetches every cached list of views when it
 * settles. `params.projectId` keeps one project's views; `workspaceId` is needed with session cookies.
 */
export function useSavedViews(params: ListSavedViewsParams = {}): UseSavedViewsResult {
  const client = useAeontelClient();
  const queryClient = useQueryClient();
  const refetch = () => refetchAfterWrite(queryClient, { queryKey: aeontelKeys.viewLists() });
  const views = useQuery<SavedViewList, AeontelError, SavedViewList, SavedViewListKey>({
    retry: retryTransient,
    queryKey: aeontelKeys.viewList(params),
    queryFn: ({ signal, queryKey }) => client.listViews(queryKey[3], signal),
  });
  const createView = useMutation<SavedView, AeontelError, SavedViewInput>({
    mutationKey: [...aeontelKeys.views(), "create"],
    mutationFn: (view) => client.createView(view, params.workspaceId),
    onSettled: refetch,
  });
  const renameView = useMutation<SavedView, AeontelError, { viewId: string; name: string }>({
    mutationKey: [...aeontelKeys.views(), "rename"],
    mutationFn: ({ viewId, name }) => client.renameView(viewId, name),
    onSettled: refetch,
  });
  const deleteView = useMutation<SavedViewDeleted, AeontelError, string>({
    mutationKey: [...aeontelKeys.views(), "delete"],
    mutationFn: (viewId) => client.deleteView(viewId),
    onSettled: refetch,
  });
  return { views, createView, renameView, deleteView };
}

/**
 * A saved view's images (any view of the workspace, by id), in the view's sort, a page at a time like
 * `useListImages`. Disabled while `viewId` is empty.
 */
export function useSavedViewImages(
  viewId: string | null | undefined,
  limit?: number,
): UseInfiniteQueryResult<ImagePages, AeontelError> {
  const client = useAeontelClient();
  const id = viewId ?? "";
  return useInfiniteQuery<ImageList, AeontelError, ImagePages, SavedViewImagesKey, string | undefined>({
    retry: retryTransient,
    enabled: id !== "",
    queryKey: aeontelKeys.viewImages(id, limit),
    queryFn: ({ pageParam, signal }) => client.listViewImages(id, { limit, cursor: pageParam }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => (last.has_more && last.next_cursor ? last.next_cursor : undefined),
  });
}
