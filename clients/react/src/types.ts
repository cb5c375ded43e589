/** Named shapes of the API, picked out of the generated `schema.d.ts` (the server's OpenAPI document). */
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** One image: the `Image` schema (`app.domain.shapes.Image` on the server). */
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
/** One version of an image's bytes (`PUT /api/files/{id}/content` makes the next one): `pending` until ready. */
export type FileVersion = components["schemas"]["FileVersion"];
/** Every version of an image, newest first. */
export type FileVersionList = components["schemas"]["FileVersionList"];
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

/** A saved view: a name for a project's list parameters (`query`), its layout and its gallery `url`. */
export type SavedView = components["schemas"]["SavedView"];
/** The caller's saved views: `{object: "list", data}` (a token's own views for a token). */
export type SavedViewList = components["schemas"]["SavedViewList"];
/** The body of `POST /api/views`: `projectId`, `name`, `query` (checked by the server's query engine), `layout`. */
export type SavedViewCreate = components["schemas"]["SavedViewCreate"];
/** What `createView` takes: `query` (default none) and `layout` (default `grid`) may be left out. */
export type SavedViewInput = Omit<SavedViewCreate, "query" | "layout"> & Partial<Pick<SavedViewCreate, "query" | "layout">>;
/** The answer to `DELETE /api/views/{view_id}`. */
export type SavedViewDeleted = components["schemas"]["SavedViewDeleted"];

/** Which saved views `useSavedViews` lists. */
export interface ListSavedViewsParams {
  /** Defaults to the token's workspace; required with session cookies. */
  workspaceId?: string;
  /** Only this project's views. */
  projectId?: string;
}

/** The query of `GET /api/images`, as the server names it. */
export type ListImagesQuery = NonNullable<operations["listImages"]["parameters"]["query"]>;

/** Per facet its top values with counts (`GET /api/images/facets`); `exact: false` when they are estimates. */
export type ImageFacets = components["schemas"]["ImageFacets"];
/** One value of a facet with how many matching images have it. */
export type FacetValue = components["schemas"]["FacetValue"];

/** The filters of the images list and of its facet counts; they combine with AND. */
export interface ImageFilters {
  /** Defaults to the token's workspace; required with session cookies. */
  workspaceId?: string;
  /** Only images of this project. */
  projectId?: string;
  /** Only images whose name or alt text contains this text, in any case and with or without accents. */
  q?: string;
  /** Order: created (upload time), name or size; a leading `-` is descending. Newest first by default. */
  sort?: ListImagesQuery["sort"];
  /** Only this camera (`cameraModel`, exact), maker (`cameraMake`) or lens. */
  camera?: string;
  cameraMake?: string;
  lens?: string;
  /** Only photos taken after / before this ISO 8601 date or time (EXIF, else the upload time). */
  takenAfter?: string;
  takenBefore?: string;
  orientation?: ListImagesQuery["orientation"];
  /** Bounds (included) on the displayed pixels and on the file's bytes. */
  minWidth?: number;
  maxWidth?: number;
  minHeight?: number;
  maxHeight?: number;
  minSize?: number;
  maxSize?: number;
  /** What the images service was sent: `original` or `master`. */
  source?: ListImagesQuery["source"];
  /** The dominant colour's family (`blue`, `grey`, …). */
  colour?: ListImagesQuery["colour"];
  /** Only this image format (`jpeg`, `png`, …). */
  format?: string;
  /** `true`: images with alt text; `false`: images still to describe (none, and not decorative). */
  hasAltText?: boolean;
  /** Only images uploaded after / before this ISO 8601 date or time. */
  createdAfter?: string;
  createdBefore?: string;
  /** Only images in this collection (its id). */
  collection?: string;
  /** Only images carrying every one of these tags (any case). */
  tag?: string[];
}

/** What `useListImages` takes: the list's filters (the cursor is the hook's business). */
export interface ListImagesParams extends ImageFilters {
  /** Page size, 1 to 100 (the server's default is 50). */
  limit?: number;
  /** Each page also carries `total`, the number of matching images on all pages. */
  count?: boolean;
}

/** A named group of a project's images (flat: an image can be in any number of them). */
export type Collection = components["schemas"]["Collection"];
/** `{object: "list", data: Collection[]}`. */
export type CollectionList = components["schemas"]["CollectionList"];
/** What adding or removing images did: `{collection, changed}`. */
export type CollectionChange = components["schemas"]["CollectionChange"];
/** A workspace's tag with how many images carry it. */
export type Tag = components["schemas"]["Tag"];
/** `{object: "list", data: Tag[]}`, most used first. */
export type TagList = components["schemas"]["TagList"];
/** The answer of a bulk tag change: `{changed}`. */
export type TagsChanged = components["schemas"]["TagsChanged"];
/** Which images a bulk change acts on: `{ids}` or `{query}` (GET /api/images's filters). */
export type ImageSelection = components["schemas"]["ImageSelection"];
/** The body of `POST /api/images/tags`: a selection and the tags to `add` and `remove`. */
export type TagsChange = components["schemas"]["TagsChange"];
