export { AeontelProvider, useAeontelClient, type AeontelProviderProps } from "./provider.js";
export {
  useListImages,
  useRetrieveImage,
  useDeleteImage,
  useRetryFile,
  imagesOf,
  retryTransient,
  deleteImageMutationKey,
  type ImagePages,
  type UseListImagesOptions,
  type UseRetrieveImageOptions,
  type UseDeleteImageOptions,
  type UseRetryFileOptions,
  type DeleteImageContext,
} from "./hooks.js";
export {
  createAeontelClient,
  type AeontelClient,
  type AeontelConfig,
  type TokenConfig,
  type SessionConfig,
} from "./client.js";
export { AeontelError, isAeontelError, type AeontelErrorCode } from "./errors.js";
export { aeontelKeys, normalizeListParams, type ImageListKey, type ImageDetailKey } from "./keys.js";
export type {
  File,
  FileImageState,
  Image,
  ImageList,
  ImageDeleted,
  ImagePlaceholder,
  Problem,
  ListImagesParams,
  ListImagesQuery,
  components,
  operations,
  paths,
} from "./types.js";
