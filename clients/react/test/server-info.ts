/** What `test/server.py` prints once the real stack is up, and what the tests get from `inject("aeontel")`. */
export interface Tenant {
  workspaceId: string;
  projectId: string;
  writeToken: string;
  readToken: string;
  /** Newest first, as the API lists them. */
  fileIds: string[];
  /** Workspace C only: a file whose image failed ("broken.png", too many pixels), for the retry tests. */
  failedFileId?: string;
  /** Workspace A only: a second project holding one image ("blog-header.jpg"). */
  otherProjectId?: string;
}

export interface ServerInfo {
  ready: true;
  baseUrl: string;
  imagesUrl: string;
  pid: number;
  /** How long the stack may take to make an image of an upload (AEONTEL_TEST_PROVISION_TIMEOUT): the tests that wait
   * for the worker wait this long, and no fixed margin of their own. */
  provisionTimeoutMs: number;
  /** Seven images (six in its Website project, one in Blog): only read by the tests. */
  a: Tenant;
  /** Two images of another workspace: the tests prove they cannot be reached or deleted from A. */
  b: Tenant;
  /** Seven images that the delete tests delete (three in all; the most any one needs at its start is four). */
  c: Tenant;
  /** No images at first: the upload tests upload into it through one-time URLs. */
  u: Tenant;
  /** One private image ("private.jpg", 640×480): delivered only through signed URLs. */
  p: Tenant;
  /** Two images that the restore tests delete and restore (the trash); nothing else touches them. */
  r: Tenant;
  /** One image (48×32) whose bytes the replace tests replace and restore; nothing else touches it. */
  v: Tenant;
  /** Two images that the collections and tags tests organise; nothing else touches them. */
  o: Tenant;
  /** A gallery user who signs in with a password: a viewer in A, an editor in C. */
  user: { email: string; password: string };
}

declare module "vitest" {
  export interface ProvidedContext {
    aeontel: ServerInfo;
  }
}
