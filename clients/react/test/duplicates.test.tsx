/**
 * Hash first (issue 23) against the real server, in workspace U: inside an AeontelProvider, useUploadFile hashes the
 * file (Web Crypto) and asks `GET /api/files?sha256=`; a file the library has is never sent (the one-time URL is not
 * even asked for), `keepBoth` sends it all the same, and a URL that receives known bytes answers that file.
 */
import { act, renderHook } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { createAeontelClient, sha256Hex, useUploadFile, type UploadUrl } from "../src/index.js";
import { newQueryClient, recordingFetch, server, tokenConfig, wrapperFor } from "./helpers.js";

const { u } = server;

async function makeUploadUrl(): Promise<UploadUrl & { uploadUrl: string }> {
  const response = await fetch(`${server.baseUrl}/api/uploads`, {
    method: "POST",
    headers: { Authorization: `Bearer ${u.writeToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ projectId: u.projectId }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as UploadUrl & { uploadUrl: string };
}

describe("hash first", () => {
  it("finds a known file by its SHA-256 and skips sending it", async () => {
    const bytes = new Blob([`notes ${crypto.randomUUID()}`], { type: "text/plain" });
    const client = createAeontelClient(tokenConfig(u.readToken));
    expect(await client.findFileBySha256(await sha256Hex(bytes))).toBeNull();

    let asked = 0;
    const recorder = recordingFetch();
    const { result } = renderHook(() => useUploadFile({
      uploadUrl: async () => { asked += 1; return makeUploadUrl(); },
    }), { wrapper: wrapperFor(tokenConfig(u.readToken, recorder.fetch), newQueryClient()) });
    let first: Awaited<ReturnType<typeof result.current.upload>> | undefined;
    await act(async () => { first = await result.current.upload(bytes, "notes.txt"); });
    expect(first!.state).toBe("used");
    expect(asked).toBe(1);

    let again: Awaited<ReturnType<typeof result.current.upload>> | undefined;
    await act(async () => { again = await result.current.upload(bytes, "notes copy.txt"); });
    expect(again).toMatchObject({ state: "known", duplicateOf: first!.file!.id, file: { name: "notes.txt" } });
    expect(result.current.state).toBe("known");
    expect(asked).toBe(1); // no upload URL asked for, nothing sent
    expect(recorder.calls.filter((call) => call.url.includes("sha256=")).length).toBe(2);

    let both: Awaited<ReturnType<typeof result.current.upload>> | undefined;
    await act(async () => { both = await result.current.upload(bytes, "notes copy.txt", { keepBoth: true }); });
    expect(asked).toBe(2);
    expect(both!.state).toBe("used");
    expect(both!.file!.id).not.toBe(first!.file!.id);
    expect(both!.file!.duplicateOf).toBeUndefined();
  });

  it("a one-time URL that receives known bytes answers the file the library has", async () => {
    const bytes = new Blob([`report ${crypto.randomUUID()}`], { type: "text/plain" });
    const { result } = renderHook(() => useUploadFile({ uploadUrl: async () => makeUploadUrl() }));
    let first: Awaited<ReturnType<typeof result.current.upload>> | undefined;
    await act(async () => { first = await result.current.upload(bytes, "report.txt"); });
    let again: Awaited<ReturnType<typeof result.current.upload>> | undefined;
    await act(async () => { again = await result.current.upload(bytes, "report again.txt"); });
    expect(again!.state).toBe("used");
    expect(again!.file).toMatchObject({ id: first!.file!.id, duplicateOf: first!.file!.id });
  });
});
