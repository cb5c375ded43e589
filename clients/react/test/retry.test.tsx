/**
 * Retrying a file's image against the real server, in workspace C: a failed file goes back in the queue, anything
 * else is refused with the API's problem code.
 */
import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AeontelError, useRetryFile } from "../src/index.js";
import { newQueryClient, recordingFetch, server, tokenConfig, wrapperFor } from "./helpers.js";

const { a, c } = server;

describe("useRetryFile", () => {
  it("puts a failed file back in the queue and answers the file, processing again", async () => {
    const recorder = recordingFetch();
    const { result } = renderHook(() => useRetryFile(),
      { wrapper: wrapperFor(tokenConfig(c.writeToken, recorder.fetch), newQueryClient()) });
    await act(async () => { await result.current.mutateAsync(c.failedFileId!); });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(result.current.data?.id).toBe(c.failedFileId);
    expect(result.current.data?.image?.status).toBe("processing");
    const call = recorder.calls.find((made) => made.method === "POST")!;
    expect(call.url).toBe(`${server.baseUrl}/api/files/${c.failedFileId}/retry`);
    expect(call.status).toBe(202);
  });

  it("refuses an image that is ready (409 not_retryable) and a read token (403)", async () => {
    const ready = a.fileIds[0]!; // A's images are only read: a refused retry changes nothing
    const { result } = renderHook(() => useRetryFile(), { wrapper: wrapperFor(tokenConfig(a.writeToken), newQueryClient()) });
    await act(async () => { await result.current.mutateAsync(ready).catch(() => undefined); });
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect(result.current.error).toBeInstanceOf(AeontelError);
    expect(result.current.error?.status).toBe(409);
    expect(result.current.error?.code).toBe("not_retryable");

    const reader = renderHook(() => useRetryFile(), { wrapper: wrapperFor(tokenConfig(a.readToken), newQueryClient()) });
    await act(async () => { await reader.result.current.mutateAsync(ready).catch(() => undefined); });
    await waitFor(() => expect(reader.result.current.error?.status).toBe(403));
  });
});
