export { AeontelProvider, useAeontelClient, type AeontelProviderProps } from "./provider.js";
export {
  useListImages,
  useRetrieveImage,
  useDeleteImage,
  useRetryFile,
  useRestoreFile,
  imagesOf,
  retryTransient,
  deleteImageMutationKey,
  type ImagePages,
  type UseListImagesOptions,
  type UseRetrieveImageOptions,
  type UseDeleteImageOptions,
  type UseRetryFileOptions,
  type UseRestoreFileOptions,
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
export {
  AeontelImage,
  imageSources,
  DEFAULT_WIDTHS,
  type AeontelImageProps,
  type ImageSources,
  type FocalPoint,
} from "./image.js";
export {
  useUploadFile,
  useUploadedImage,
  uploadToUrl,
  fetchUploadStatus,
  type UploadUrlSource,
  type UploadTarget,
  type UploadProgress,
  type UploadState,
  type UseUploadFileOptions,
  type UseUploadFileResult,
  type UseUploadedImageOptions,
} from "./upload.js";
export type {
  File,
  FileImageState,
  Image,
  UploadUrl,
  UploadUrlStatus,
  UploadUrlRequest,
  ApiFile,
  ImageList,
  ImageDeleted,
  ImagePlaceholder,
  PictureFacts,
  Problem,
  ListImagesParams,
  ListImagesQuery,
  components,
  operations,
  paths,
} from "./types.js";
