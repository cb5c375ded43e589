/**
 * Restoring from the trash against the real server, in workspace R (its own): a deleted image comes back under the same id and
 * delivery URL; a file that is not in the trash answers 404 `not_in_trash`.
 */
import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AeontelError, createAeontelClient, useRestoreFile } from "../src/index.js";
import { newQueryClient, recordingFetch, server, serverImages, tokenConfig, wrapperFor } from "./helpers.js";

const { r } = server;

describe("useRestoreFile", () => {
  it("brings a deleted image back from the trash, processing again under the same URL", async () => {
    const client = createAeontelClient(tokenConfig(r.writeToken));
    const target = (await serverImages(r))[0]!;
    const deleted = await client.deleteImage(target.fileId);
    expect(deleted.restorableUntil).toEqual(expect.any(String));
    const recorder = recordingFetch();
    const { result } = renderHook(() => useRestoreFile(),
      { wrapper: wrapperFor(tokenConfig(r.writeToken, recorder.fetch), newQueryClient()) });
    await act(async () => { await result.current.mutateAsync(target.fileId); });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(result.current.data?.id).toBe(target.fileId);
    expect(result.current.data?.image?.status).toBe("processing");
    const call = recorder.calls.find((made) => made.method === "POST")!;
    expect(call.url).toBe(`${server.baseUrl}/api/files/${target.fileId}/restore`);
    expect(call.status).toBe(200);
    await waitFor(async () => expect((await client.retrieveImage(target.fileId)).url).toBe(target.url),
      { timeout: server.provisionTimeoutMs, interval: 200 });
  }, 3 * server.provisionTimeoutMs);

  it("refuses a file that is not in the trash (404 not_in_trash)", async () => {
    const live = (await serverImages(r))[0]!.fileId;
    const { result } = renderHook(() => useRestoreFile(), { wrapper: wrapperFor(tokenConfig(r.writeToken), newQueryClient()) });
    await act(async () => { await result.current.mutateAsync(live).catch(() => undefined); });
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect(result.current.error).toBeInstanceOf(AeontelError);
    expect(result.current.error?.status).toBe(404);
    expect(result.current.error?.code).toBe("not_in_trash");
  });
});
