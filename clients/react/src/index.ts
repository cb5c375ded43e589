export { AeontelProvider, useAeontelClient, type AeontelProviderProps } from "./provider.js";
export {
  useListImages,
  useRetrieveImage,
  useDeleteImage,
  useUpdateImage,
  imagesOf,
  retryTransient,
  deleteImageMutationKey,
  type ImagePages,
  type UseListImagesOptions,
  type UseRetrieveImageOptions,
  type UseDeleteImageOptions,
  type DeleteImageContext,
  type UpdateImageContext,
  type UpdateImageVariables,
  type UseUpdateImageOptions,
} from "./hooks.js";
export {
  createAeontelClient,
  retryAfterMs,
  type AeontelClient,
  type AeontelConfig,
  type TokenConfig,
  type SessionConfig,
} from "./client.js";
export { AeontelError, isAeontelError, type AeontelErrorCode } from "./errors.js";
export { aeontelKeys, normalizeListParams, type ImageListKey, type ImageDetailKey } from "./keys.js";
export type {
  Image,
  ImageList,
  ImageDeleted,
  ImageUpdate,
  FocalPoint,
  ImagePlaceholder,
  Problem,
  ListImagesParams,
  ListImagesQuery,
  components,
  operations,
  paths,
} from "./types.js";
