import {
  useMutation,
  useQuery,
  useQueryClient,
  type UseMutationResult,
  type UseQueryOptions,
  type UseQueryResult,
} from "@tanstack/react-query";
import type { AeontelError } from "./errors.js";
import { retryTransient } from "./hooks.js";
import { aeontelKeys, refetchAfterWrite } from "./keys.js";
import { useAeontelClient } from "./provider.js";
import type { Collection, CollectionChange, CollectionList, ImageSelection, TagList, TagsChange, TagsChanged } from "./types.js";

export interface CollectionsParams {
  /** Required with session cookies; defaults to the token's workspace. */
  workspaceId?: string;
  /** Only this project's collections. */
  projectId?: string;
}

/** The collections of a workspace (or a project), by name, each with its `imageCount`. */
export function useCollections(
  params: CollectionsParams = {},
  options: Omit<UseQueryOptions<CollectionList, AeontelError>, "queryKey" | "queryFn"> = {},
): UseQueryResult<CollectionList, AeontelError> {
  const client = useAeontelClient();
  return useQuery({
    retry: retryTransient,
    ...options,
    queryKey: aeontelKeys.collectionList(params.workspaceId, params.projectId),
    queryFn: ({ signal }) => client.listCollections(params, signal),
  });
}

/**
 * Tags starting with `prefix` (any case), most used first, for a tag field's suggestions as one types; the
 * previous suggestions stay shown while the next ones load. Disabled while `enabled` is false.
 */
export function useTagSuggestions(
  prefix: string,
  options: { workspaceId?: string; limit?: number; enabled?: boolean } = {},
): UseQueryResult<TagList, AeontelError> {
  const client = useAeontelClient();
  const typed = prefix.trim();
  return useQuery<TagList, AeontelError>({
    retry: retryTransient,
    enabled: options.enabled ?? true,
    placeholderData: (previous) => previous,
    queryKey: aeontelKeys.tagSuggestions(typed, options.workspaceId),
    queryFn: ({ signal }) =>
      client.suggestTags({ prefix: typed || undefined, limit: options.limit, workspaceId: options.workspaceId }, signal),
  });
}

/** After any change of collections or tags: the collection lists, the tag suggestions and the image lists and
 * images (their `tags` and `collections`) are fetched again. */
function useRefetchOrganised() {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      refetchAfterWrite(queryClient, { queryKey: aeontelKeys.collections() }),
      refetchAfterWrite(queryClient, { queryKey: aeontelKeys.tags() }),
      refetchAfterWrite(queryClient, { queryKey: aeontelKeys.images() }),
    ]);
}

export interface CreateCollectionVariables {
  projectId: string;
  name: string;
  workspaceId?: string;
}

/** `mutate({projectId, name})`: a new, empty collection (409 `collection_exists` for a name the project has). */
export function useCreateCollection(): UseMutationResult<Collection, AeontelError, CreateCollectionVariables> {
  const client = useAeontelClient();
  const refetch = useRefetchOrganised();
  return useMutation({
    mutationFn: ({ projectId, name, workspaceId }) => client.createCollection(projectId, name, workspaceId),
    onSettled: refetch,
  });
}

/** `mutate({collectionId, name})`. */
export function useRenameCollection(): UseMutationResult<Collection, AeontelError, { collectionId: string; name: string }> {
  const client = useAeontelClient();
  const refetch = useRefetchOrganised();
  return useMutation({
    mutationFn: ({ collectionId, name }) => client.renameCollection(collectionId, name),
    onSettled: refetch,
  });
}

/** `mutate(collectionId)`: the collection goes, its images stay. */
export function useDeleteCollection(): UseMutationResult<void, AeontelError, string> {
  const client = useAeontelClient();
  const refetch = useRefetchOrganised();
  return useMutation({ mutationFn: (collectionId) => client.deleteCollection(collectionId), onSettled: refetch });
}

export interface CollectionImagesVariables {
  collectionId: string;
  /** `{ids: [...]}` or `{query: {tag: ["beach"]}}` (GET /api/images's filters: every image they match). */
  selection: ImageSelection;
}

/** `mutate({collectionId, selection})`: adds images; `changed` counts those new to it. */
export function useAddToCollection(): UseMutationResult<CollectionChange, AeontelError, CollectionImagesVariables> {
  const client = useAeontelClient();
  const refetch = useRefetchOrganised();
  return useMutation({
    mutationFn: ({ collectionId, selection }) => client.addToCollection(collectionId, selection),
    onSettled: refetch,
  });
}

/** `mutate({collectionId, selection})`: takes images out of the collection (the images stay). */
export function useRemoveFromCollection(): UseMutationResult<CollectionChange, AeontelError, CollectionImagesVariables> {
  const client = useAeontelClient();
  const refetch = useRefetchOrganised();
  return useMutation({
    mutationFn: ({ collectionId, selection }) => client.removeFromCollection(collectionId, selection),
    onSettled: refetch,
  });
}

/** `mutate({ids | query, add, remove})`: bulk tags; `changed` counts the images that gained or lost one. */
export function useChangeTags(workspaceId?: string): UseMutationResult<TagsChanged, AeontelError, TagsChange> {
  const client = useAeontelClient();
  const refetch = useRefetchOrganised();
  return useMutation({ mutationFn: (change) => client.changeTags(change, workspaceId), onSettled: refetch });
}
