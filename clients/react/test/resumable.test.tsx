/** useUploadFile's resumable uploads (tus 1.0 through tus-js-client) against the real server: pieces, the same bytes
 * stored, small files still in one request, and a canceled upload going on from where the server says it got to. */
import { act, renderHook, waitFor } from "@testing-library/react";
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { useUploadFile, type UploadProgress, type UploadUrl } from "../src/index.js";
import { server } from "./helpers.js";

const { u } = server;
const PIECE = 64 * 1024;

async function makeUploadUrl(): Promise<UploadUrl & { uploadUrl: string }> {
  const response = await fetch(`${server.baseUrl}/api/uploads`, {
    method: "POST",
    headers: { Authorization: `Bearer ${u.writeToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ projectId: u.projectId }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as UploadUrl & { uploadUrl: string };
}

function randomFile(size: number, name: string): { file: File; sha256: string } {
  const bytes = randomBytes(size);
  return { file: new File([bytes], name, { type: "application/octet-stream" }), sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** What the server says about a resumable upload (node's fetch: no CORS, no credentials needed for a URL's upload). */
async function offsetOf(resumableUrl: string): Promise<{ offset: number; length: number }> {
  const head = await fetch(resumableUrl, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" } });
  expect(head.status).toBe(200);
  return { offset: Number(head.headers.get("Upload-Offset")), length: Number(head.headers.get("Upload-Length")) };
}

describe("useUploadFile, resumable", () => {
  it("sends a file over the threshold in pieces to the URL's resumable upload; a smaller one in one request", async () => {
    const seen: UploadProgress[] = [];
    const { result } = renderHook(() => useUploadFile({
      uploadUrl: () => makeUploadUrl(),
      resumableFrom: 100_000,
      chunkSize: PIECE,
      onProgress: (progress) => seen.push(progress),
    }));
    const { file, sha256 } = randomFile(5 * PIECE + 1234, "large.bin");
    let done: Awaited<ReturnType<typeof result.current.upload>> | undefined;
    await act(async () => {
      done = await result.current.upload(file);
    });
    expect(result.current.state).toBe("done");
    expect(done!.state).toBe("used");
    expect(done!.file).toMatchObject({ name: "large.bin", size: file.size, sha256, projectId: u.projectId });
    const resumableUrl = result.current.resumableUrl!;
    expect(resumableUrl.startsWith(`${result.current.uploadUrl}/tus/tus_`)).toBe(true);
    expect(await offsetOf(resumableUrl)).toEqual({ offset: file.size, length: file.size });
    expect(seen.at(-1)).toMatchObject({ loaded: file.size, total: file.size, fraction: 1 });
    // One progress report per piece at least: it did not go in one request.
    expect(new Set(seen.map((p) => Math.ceil(p.loaded / PIECE))).size).toBeGreaterThanOrEqual(6);

    const small = randomFile(99_999, "small.bin");
    await act(async () => {
      done = await result.current.upload(small.file);
    });
    expect(done!.file).toMatchObject({ name: "small.bin", size: small.file.size, sha256: small.sha256 });
    expect(result.current.resumableUrl).toBeNull();
  });

  it("a canceled resumable upload goes on from where the server got to when the same file is uploaded again", async () => {
    const made = await makeUploadUrl();
    const { file, sha256 } = randomFile(12 * PIECE + 99, "resumed.bin");
    const firstRun: UploadProgress[] = [];
    const secondRun: UploadProgress[] = [];
    let run = firstRun;
    let stop = () => {};
    const { result } = renderHook(() => useUploadFile({
      uploadUrl: made.uploadUrl,
      resumableFrom: 0,
      chunkSize: PIECE,
      onProgress: (progress) => {
        run.push(progress);
        if (run === firstRun && progress.loaded >= 3 * PIECE) stop();
      },
    }));
    stop = () => result.current.cancel();
    let first: Promise<unknown> | undefined;
    act(() => {
      first = result.current.upload(file).catch((error: unknown) => error);
    });
    expect(await first).toMatchObject({ code: "upload_canceled" });
    await waitFor(() => expect(result.current.state).toBe("canceled"));
    const resumableUrl = result.current.resumableUrl!;
    const { offset } = await offsetOf(resumableUrl);
    expect(offset).toBeGreaterThanOrEqual(2 * PIECE); // the pieces the server answered before the cancel are kept
    expect(offset).toBeLessThan(file.size);

    run = secondRun;
    let done: Awaited<ReturnType<typeof result.current.upload>> | undefined;
    await act(async () => {
      done = await result.current.upload(file);
    });
    expect(result.current.resumableUrl).toBe(resumableUrl); // the same upload, not a new one
    expect(Math.min(...secondRun.map((p) => p.loaded))).toBeGreaterThanOrEqual(offset); // nothing before it was sent again
    expect(done!.file).toMatchObject({ name: "resumed.bin", size: file.size, sha256 });
    expect(done!.state).toBe("used");
  });
});
