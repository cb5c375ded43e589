/** Named shapes of the API, picked out of the generated `schema.d.ts` (the server's OpenAPI document). */
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** One image: the `Image` schema (`app.api.schemas.image_json` on the server). */
export type Image = components["schemas"]["Image"];
/** A page of images: `{object: "list", data, has_more, next_cursor}`. */
export type ImageList = components["schemas"]["ImageList"];
/** The body of `PATCH /api/images/{file_id}`: any of `altText`, `decorative`, `focalPoint`, `name`. */
export type ImageUpdate = components["schemas"]["ImageUpdate"];
/** `focalPoint: {x, y}` of an image (0 to 1 from the top left), or null for the centre. */
export type FocalPoint = components["schemas"]["FocalPoint"];
/** The answer to `DELETE /api/images/{file_id}`. */
export type ImageDeleted = components["schemas"]["ImageDeleted"];
/** One file: the `File` schema; `image` says where it is on its way to an image (`waiting`: for the images service). */
export type File = components["schemas"]["File"];
/** `image` of a file: `{status: processing | waiting | ready | failed, error, nextAttemptAt, attempts}`. */
export type FileImageState = components["schemas"]["FileImageState"];
/** An error body: RFC 9457 problem details with the API's stable `code`. */
export type Problem = components["schemas"]["Problem"];
/** `placeholder: {blurhash, dominantColor}` of an image. */
export type ImagePlaceholder = Image["placeholder"];
/** Bytes, dimensions and format of an image's original or of the master sent to Images in its place. */
export type PictureFacts = components["schemas"]["PictureFacts"];

/** A one-time upload URL (`POST /api/uploads`); `uploadUrl` is only in the answer that made it. */
export type UploadUrl = components["schemas"]["UploadUrl"];
/** What a one-time upload URL made: its state, the file, and the image once processed. */
export type UploadUrlStatus = components["schemas"]["UploadUrlStatus"];
/** The body of `POST /api/uploads`, for the server that makes upload URLs. */
export type UploadUrlRequest = components["schemas"]["UploadUrlRequest"];
/** A file: the `File` schema. */
export type ApiFile = components["schemas"]["File"];

/** The query of `GET /api/images`, as the server names it. */
export type ListImagesQuery = NonNullable<operations["listImages"]["parameters"]["query"]>;

/** What `useListImages` takes: the list's filters (the cursor is the hook's business). */
export interface ListImagesParams {
  /** Defaults to the token's workspace; required with session cookies. */
  workspaceId?: string;
  /** Only images of this project. */
  projectId?: string;
  /** Page size, 1 to 100 (the server's default is 50). */
  limit?: number;
  /** Only images whose file name contains this text (case-insensitive). */
  q?: string;
  /** Order: created (upload time), name or size; a leading `-` is descending. Newest first by default. */
  sort?: ListImagesQuery["sort"];
  /** Only this image format (`jpeg`, `png`, …). */
  format?: string;
  /** `true`: images with alt text; `false`: images still to describe (none, and not decorative). */
  hasAltText?: boolean;
  /** Only images uploaded after / before this ISO 8601 date or time. */
  createdAfter?: string;
  createdBefore?: string;
  /** Each page also carries `total`, the number of matching images on all pages. */
  count?: boolean;
}
