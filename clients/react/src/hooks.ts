import {
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
  type InfiniteData,
  type QueryClient,
  type UseInfiniteQueryOptions,
  type UseInfiniteQueryResult,
  type UseMutationResult,
  type UseQueryOptions,
  type UseQueryResult,
} from "@tanstack/react-query";
import { AeontelError } from "./errors.js";
import { aeontelKeys, refetchAfterWrite, type ImageDetailKey, type ImageFacetsKey, type ImageListKey, type VersionsKey } from "./keys.js";
import { useAeontelClient } from "./provider.js";
import type {
  File,
  FileVersion,
  FileVersionList,
  Image,
  ImageDeleted,
  ImageFacets,
  ImageFilters,
  ImageList,
  ImageUpdate,
  ListImagesParams,
} from "./types.js";

/** The cached form of a list: its pages as fetched, each with `data`, `has_more` and `next_cursor`. */
export type ImagePages = InfiniteData<ImageList, string | undefined>;

/**
 * Retries only what a retry can fix: no answer at all, or a 5xx (503 storage_unavailable). A 4xx is final:
 * a 404 or 401 should show at once, not after three back-offs.
 */
export function retryTransient(failureCount: number, error: unknown): boolean {
  if (!(error instanceof AeontelError)) return failureCount < 3;
  return (error.status === 0 || error.status >= 500) && failureCount < 3;
}

export type UseListImagesOptions = Omit<
  UseInfiniteQueryOptions<ImageList, AeontelError, ImagePages, ImageListKey, string | undefined>,
  "queryKey" | "queryFn" | "initialPageParam" | "getNextPageParam" | "getPreviousPageParam"
>;

/**
 * Images of a workspace, newest first, a page at a time: `data.pages` grows with `fetchNextPage()` while
 * `hasNextPage`. The cursor is handled here; filters (`projectId`, `q`, `limit`) make their own cache entries.
 */
export function useListImages(
  params: ListImagesParams = {},
  options: UseListImagesOptions = {},
): UseInfiniteQueryResult<ImagePages, AeontelError> {
  const client = useAeontelClient();
  return useInfiniteQuery({
    retry: retryTransient,
    ...options,
    queryKey: aeontelKeys.imageList(params),
    queryFn: ({ pageParam, signal, queryKey }) => client.listImages({ ...queryKey[3], cursor: pageParam }, signal),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => (last.has_more && last.next_cursor ? last.next_cursor : undefined),
  });
}

export type UseImageFacetsOptions = Omit<
  UseQueryOptions<ImageFacets, AeontelError, ImageFacets, ImageFacetsKey>,
  "queryKey" | "queryFn"
>;

/**
 * Per facet (camera, lens, orientation, colour, format, …) the top values with counts among the images the same
 * filters match, for a filter sidebar: `data.facets.camera` is `[{value: "Canon EOS R5", count: 1204}, …]`.
 */
export function useImageFacets(
  params: ImageFilters = {},
  options: UseImageFacetsOptions = {},
): UseQueryResult<ImageFacets, AeontelError> {
  const client = useAeontelClient();
  return useQuery({
    retry: retryTransient,
    ...options,
    queryKey: aeontelKeys.imageFacets(params),
    queryFn: ({ signal, queryKey }) => client.imageFacets(queryKey[3], signal),
  });
}

/** Every image of a list's loaded pages, in order (what a grid renders). */
export function imagesOf(data: ImagePages | undefined): Image[] {
  return data ? data.pages.flatMap((page) => page.data) : [];
}

export type UseRetrieveImageOptions = Omit<
  UseQueryOptions<Image, AeontelError, Image, ImageDetailKey>,
  "queryKey" | "queryFn"
>;

/**
 * One image by its file id. While it loads, an image already in a cached list is shown as placeholder data
 * (`isPlaceholderData`), so a detail view opened from a grid has its size and colour at once. Disabled while
 * `fileId` is empty.
 */
export function useRetrieveImage(
  fileId: string | null | undefined,
  options: UseRetrieveImageOptions = {},
): UseQueryResult<Image, AeontelError> {
  const client = useAeontelClient();
  const queryClient = useQueryClient();
  const id = fileId ?? "";
  return useQuery({
    retry: retryTransient,
    placeholderData: () => findInLists(queryClient, id),
    ...options,
    enabled: id !== "" && (options.enabled ?? true),
    queryKey: aeontelKeys.imageDetail(id),
    queryFn: ({ signal }) => client.retrieveImage(id, signal),
  });
}

function findInLists(queryClient: QueryClient, fileId: string): Image | undefined {
  if (!fileId) return undefined;
  for (const [, data] of queryClient.getQueriesData<ImagePages>({ queryKey: aeontelKeys.imageLists() })) {
    const found = data?.pages.flatMap((page) => page.data).find((image) => image.fileId === fileId);
    if (found) return found;
  }
  return undefined;
}

/** What `useDeleteImage` keeps between its optimistic update and the answer, to undo its own removal. */
export interface DeleteImageContext {
  removedFrom: Array<{ queryKey: readonly unknown[]; page: number; image: Image; following: string[] }>;
}

export interface UseDeleteImageOptions {
  onSuccess?: (result: ImageDeleted, fileId: string) => unknown;
  onError?: (error: AeontelError, fileId: string) => unknown;
  onSettled?: (result: ImageDeleted | undefined, error: AeontelError | null, fileId: string) => unknown;
}

export const deleteImageMutationKey = [...aeontelKeys.images(), "delete"] as const;

/**
 * Deletes an image: `mutate(fileId)`. At once (before the server answers) the image leaves every cached list
 * page; if the server refuses, it goes back where it was, and either way the lists are refetched afterwards.
 * Only this delete's own removal is undone, and the lists are refetched when the last of several overlapping deletes
 * settles, so concurrent deletes do not bring each other's images back.
 */
export function useDeleteImage(
  options: UseDeleteImageOptions = {},
): UseMutationResult<ImageDeleted, AeontelError, string, DeleteImageContext> {
  const client = useAeontelClient();
  const queryClient = useQueryClient();
  return useMutation<ImageDeleted, AeontelError, string, DeleteImageContext>({
    mutationKey: deleteImageMutationKey,
    mutationFn: (fileId) => client.deleteImage(fileId),
    onMutate: async (fileId) => {
      const lists = { queryKey: aeontelKeys.imageLists() };
      // A list fetch in flight would answer with the image still in it and overwrite the optimistic state.
      await queryClient.cancelQueries(lists);
      const context: DeleteImageContext = { removedFrom: [] };
      for (const [queryKey, data] of queryClient.getQueriesData<ImagePages>(lists)) {
        if (!data) continue;
        let changed = false;
        const pages = data.pages.map((page, index) => {
          const at = page.data.findIndex((image) => image.fileId === fileId);
          if (at < 0) return page;
          changed = true;
          context.removedFrom.push({
            queryKey,
            page: index,
            image: page.data[at]!,
            following: page.data.slice(at + 1).map((image) => image.fileId),
          });
          return { ...page, data: page.data.filter((image) => image.fileId !== fileId) };
        });
        if (changed) queryClient.setQueryData<ImagePages>(queryKey, { ...data, pages });
      }
      return context;
    },
    onError: (error, fileId, context) => {
      for (const removal of context?.removedFrom ?? []) {
        queryClient.setQueryData<ImagePages>(removal.queryKey, (data) => (data ? putBack(data, removal) : data));
      }
      return options.onError?.(error, fileId);
    },
    onSuccess: (result, fileId) => {
      queryClient.removeQueries({ queryKey: aeontelKeys.imageDetail(fileId), exact: true });
      return options.onSuccess?.(result, fileId);
    },
    onSettled: async (result, error, fileId) => {
      // While another delete is in flight, a refetch would bring its image back: the last one to settle refetches.
      const last = queryClient.isMutating({ mutationKey: deleteImageMutationKey }) <= 1;
      await Promise.all([
        last ? refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageLists() }) : null,
        error ? refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageDetail(fileId), exact: true }) : null,
      ]);
      return options.onSettled?.(result, error, fileId);
    },
  });
}

/** The image back on its page, before the first image that followed it and is still there (else at the end). */
function putBack(data: ImagePages, removal: DeleteImageContext["removedFrom"][number]): ImagePages {
  const page = data.pages[removal.page];
  if (!page || page.data.some((image) => image.fileId === removal.image.fileId)) return data;
  const next = page.data.findIndex((image) => removal.following.includes(image.fileId));
  const items = [...page.data];
  items.splice(next < 0 ? items.length : next, 0, removal.image);
  const pages = [...data.pages];
  pages[removal.page] = { ...page, data: items };
  return { ...data, pages };
}

export interface UseRetryFileOptions {
  onSuccess?: (file: File, fileId: string) => unknown;
  onError?: (error: AeontelError, fileId: string) => unknown;
}

/**
 * Retries making a file's image: `mutate(fileId)`. A failed image starts afresh; one waiting for the images service
 * is tried now instead of after its backoff; anything else is refused (409 `not_retryable`). Image lists and the
 * image are refetched afterwards, since the image appears once the worker has made it.
 */
export function useRetryFile(options: UseRetryFileOptions = {}): UseMutationResult<File, AeontelError, string> {
  const client = useAeontelClient();
  const queryClient = useQueryClient();
  return useMutation<File, AeontelError, string>({
    mutationKey: [...aeontelKeys.all, "files", "retry"],
    mutationFn: (fileId) => client.retryFile(fileId),
    onSuccess: (file, fileId) => options.onSuccess?.(file, fileId),
    onError: (error, fileId) => options.onError?.(error, fileId),
    onSettled: (_file, _error, fileId) =>
      Promise.all([
        refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageLists() }),
        refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageDetail(fileId), exact: true }),
      ]),
  });
}

/** What `useUpdateImage` is called with: `mutate({fileId, changes: {altText: "…"}})`. */
export interface UpdateImageVariables {
  fileId: string;
  changes: ImageUpdate;
}

/** The cached image as it was before the optimistic edit, in each list and the detail, to undo it on refusal. */
export interface UpdateImageContext {
  lists: Array<{ queryKey: readonly unknown[]; image: Image }>;
  detail: Image | undefined;
}

export interface UseUpdateImageOptions {
  onSuccess?: (image: Image, variables: UpdateImageVariables) => unknown;
  onError?: (error: AeontelError, variables: UpdateImageVariables) => unknown;
  onSettled?: (image: Image | undefined, error: AeontelError | null, variables: UpdateImageVariables) => unknown;
}

/** The image with the edit applied as the server will apply it (decorative clears alt text; alt text undoes it). */
function edited(image: Image, changes: ImageUpdate): Image {
  const next: Image = { ...image };
  if (changes.name !== undefined) next.name = changes.name;
  if (changes.focalPoint !== undefined) next.focalPoint = changes.focalPoint;
  if (changes.altText !== undefined) {
    const text = (changes.altText ?? "").split(/\s+/).filter(Boolean).join(" ");
    next.altText = text || null;
    if (text && changes.decorative === undefined) next.decorative = false;
  }
  if (changes.decorative !== undefined) {
    next.decorative = changes.decorative;
    if (changes.decorative) next.altText = null;
  }
  return next;
}

function replaceIn(data: ImagePages, fileId: string, replace: (image: Image) => Image): ImagePages {
  return {
    ...data,
    pages: data.pages.map((page) => ({
      ...page,
      data: page.data.map((image) => (image.fileId === fileId ? replace(image) : image)),
    })),
  };
}

/**
 * Edits an image: `mutate({fileId, changes})`. At once the edit shows in every cached list and in the retrieved
 * image; the server's answer then replaces it, and a refusal (400, 403, 409 …) puts back what was there.
 */
export function useUpdateImage(
  options: UseUpdateImageOptions = {},
): UseMutationResult<Image, AeontelError, UpdateImageVariables, UpdateImageContext> {
  const client = useAeontelClient();
  const queryClient = useQueryClient();
  return useMutation<Image, AeontelError, UpdateImageVariables, UpdateImageContext>({
    mutationKey: [...aeontelKeys.images(), "update"],
    mutationFn: ({ fileId, changes }) => client.updateImage(fileId, changes),
    onMutate: async ({ fileId, changes }) => {
      const lists = { queryKey: aeontelKeys.imageLists() };
      const detailKey = aeontelKeys.imageDetail(fileId);
      await Promise.all([queryClient.cancelQueries(lists), queryClient.cancelQueries({ queryKey: detailKey })]);
      const context: UpdateImageContext = { lists: [], detail: queryClient.getQueryData<Image>(detailKey) };
      for (const [queryKey, data] of queryClient.getQueriesData<ImagePages>(lists)) {
        const found = data?.pages.flatMap((page) => page.data).find((image) => image.fileId === fileId);
        if (!data || !found) continue;
        context.lists.push({ queryKey, image: found });
        queryClient.setQueryData<ImagePages>(queryKey, replaceIn(data, fileId, (image) => edited(image, changes)));
      }
      if (context.detail) queryClient.setQueryData<Image>(detailKey, edited(context.detail, changes));
      return context;
    },
    onError: (error, variables, context) => {
      for (const { queryKey, image: before } of context?.lists ?? []) {
        queryClient.setQueryData<ImagePages>(queryKey, (data) =>
          data ? replaceIn(data, variables.fileId, () => before) : data);
      }
      if (context?.detail) queryClient.setQueryData<Image>(aeontelKeys.imageDetail(variables.fileId), context.detail);
      return options.onError?.(error, variables);
    },
    onSuccess: (image, variables) => {
      queryClient.setQueryData<Image>(aeontelKeys.imageDetail(variables.fileId), image);
      for (const [queryKey, data] of queryClient.getQueriesData<ImagePages>({ queryKey: aeontelKeys.imageLists() })) {
        if (data) queryClient.setQueryData<ImagePages>(queryKey, replaceIn(data, variables.fileId, () => image));
      }
      return options.onSuccess?.(image, variables);
    },
    onSettled: async (image, error, variables) => {
      // A sorted or filtered list may order the edited image elsewhere now (a new name): ask the server again.
      await refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageLists() });
      return options.onSettled?.(image, error, variables);
    },
  });
}

export interface UseRestoreFileOptions {
  onSuccess?: (file: File, fileId: string) => unknown;
  onError?: (error: AeontelError, fileId: string) => unknown;
}

/**
 * Undoes a delete: `mutate(fileId)` brings the file back from the workspace's trash (404 `not_in_trash` once it is
 * purged). An image is made again under the same id and delivery URL; its `image.status` is `processing` until
 * then, so image lists and the image are refetched afterwards.
 */
export function useRestoreFile(options: UseRestoreFileOptions = {}): UseMutationResult<File, AeontelError, string> {
  const client = useAeontelClient();
  const queryClient = useQueryClient();
  return useMutation<File, AeontelError, string>({
    mutationKey: [...aeontelKeys.all, "files", "restore"],
    mutationFn: (fileId) => client.restoreFile(fileId),
    onSuccess: (file, fileId) => options.onSuccess?.(file, fileId),
    onError: (error, fileId) => options.onError?.(error, fileId),
    onSettled: (_file, _error, fileId) =>
      Promise.all([
        refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageLists() }),
        refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageDetail(fileId), exact: true }),
      ]),
  });
}

export interface ReplaceFileVariables {
  fileId: string;
  /** The new bytes (a `File` from an `<input type="file">` or a drop, or any `Blob`). */
  file: Blob;
  /** Rename the file once the new version is current; without it the file keeps its name. */
  name?: string;
}

export interface UseReplaceFileOptions {
  onSuccess?: (version: FileVersion, variables: ReplaceFileVariables) => unknown;
  onError?: (error: AeontelError, variables: ReplaceFileVariables) => unknown;
}

/**
 * Replaces an image's bytes: `mutate({fileId, file})`. The answer is the new version, `pending`: the image (and its
 * stable `url`) keeps showing the current version until the worker has the new one ready; `useFileVersions` (or the
 * image, refetched) tells when it is `current`, or `failed` with its `error`. Alt text, focal point, crops and every
 * other field stay. Refused with 409 `replace_in_progress` while an earlier replace is pending.
 */
export function useReplaceFile(
  options: UseReplaceFileOptions = {},
): UseMutationResult<FileVersion, AeontelError, ReplaceFileVariables> {
  const client = useAeontelClient();
  const queryClient = useQueryClient();
  return useMutation<FileVersion, AeontelError, ReplaceFileVariables>({
    mutationKey: [...aeontelKeys.all, "files", "replace"],
    mutationFn: ({ fileId, file, name }) => client.replaceFile(fileId, file, { name }),
    onSuccess: (version, variables) => options.onSuccess?.(version, variables),
    onError: (error, variables) => options.onError?.(error, variables),
    onSettled: (_version, _error, { fileId }) =>
      refetchAfterWrite(queryClient, { queryKey: aeontelKeys.versions(fileId), exact: true }),
  });
}

export type UseFileVersionsOptions = Omit<
  UseQueryOptions<FileVersionList, AeontelError, FileVersionList, VersionsKey>,
  "queryKey" | "queryFn"
>;

/**
 * An image's versions, newest first. While one is `pending` the list is fetched again every second (pass
 * `refetchInterval` to change that); once none is, the image's own cache entry is refreshed so it shows the new
 * version. Disabled while `fileId` is empty.
 */
export function useFileVersions(
  fileId: string | null | undefined,
  options: UseFileVersionsOptions = {},
): UseQueryResult<FileVersionList, AeontelError> {
  const client = useAeontelClient();
  const queryClient = useQueryClient();
  const id = fileId ?? "";
  return useQuery({
    retry: retryTransient,
    refetchInterval: (query) =>
      query.state.data?.data.some((version) => version.state === "pending") ? 1000 : false,
    ...options,
    enabled: id !== "" && (options.enabled ?? true),
    queryKey: aeontelKeys.versions(id),
    queryFn: async ({ signal }) => {
      const before = queryClient.getQueryData<FileVersionList>(aeontelKeys.versions(id));
      const found = await client.listVersions(id, signal);
      const current = (list?: FileVersionList) => list?.data.find((version) => version.state === "current")?.number;
      if (before && current(before) !== current(found)) {
        await Promise.all([
          refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageDetail(id), exact: true }),
          refetchAfterWrite(queryClient, { queryKey: aeontelKeys.imageLists() }),
        ]);
      }
      return found;
    },
  });
}

export interface RestoreVersionVariables {
  fileId: string;
  number: number;
}

/** Makes an old version current again as a NEW version: `mutate({fileId, number})`; answers it, `pending`. */
export function useRestoreVersion(
  options: { onSuccess?: (version: FileVersion) => unknown; onError?: (error: AeontelError) => unknown } = {},
): UseMutationResult<FileVersion, AeontelError, RestoreVersionVariables> {
  const client = useAeontelClient();
  const queryClient = useQueryClient();
  return useMutation<FileVersion, AeontelError, RestoreVersionVariables>({
    mutationKey: [...aeontelKeys.all, "files", "restore-version"],
    mutationFn: ({ fileId, number }) => client.restoreVersion(fileId, number),
    onSuccess: (version) => options.onSuccess?.(version),
    onError: (error) => options.onError?.(error),
    onSettled: (_version, _error, { fileId }) =>
      refetchAfterWrite(queryClient, { queryKey: aeontelKeys.versions(fileId), exact: true }),
  });
}
