/**
 * Replacing an image's bytes against the real server, in workspace V (its own): the new version is pending while the
 * current one serves, becomes current once the worker has it, keeps the alt text, and can be undone by restoring v1
 * as a new version. `<AeontelImage>` renders the version's own URLs by default and the stable ones when asked.
 */
import { act, render, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import {
  AeontelError, AeontelImage, createAeontelClient, imageSources, useFileVersions, useReplaceFile, useRestoreVersion,
  type FileVersion,
} from "../src/index.js";
import { multipartFetch, newQueryClient, server, tokenConfig, wrapperFor } from "./helpers.js";

const { v } = server;

/** A smaller JPEG of the same picture (24 px wide), from the images stand-in's flexible variants. */
async function someJpeg(url: string): Promise<Blob> {
  const response = await fetch(url.replace(/\/public$/, "/w=24,format=jpeg"));
  expect(response.status).toBe(200);
  return new Blob([await response.arrayBuffer()], { type: "image/jpeg" });
}

describe("useReplaceFile, useFileVersions, useRestoreVersion", () => {
  it("replaces the bytes as a new version, follows it to current, and restores the first as a new one", async () => {
    const client = createAeontelClient(tokenConfig(v.writeToken));
    const fileId = v.fileIds[0]!;
    await client.updateImage(fileId, { altText: "A test card" });
    const before = await client.retrieveImage(fileId);
    expect(before.version).toBe(1);
    expect(before.url).toBe(`${server.baseUrl}/i/${fileId}/public`);
    const bytes = await someJpeg(before.versionedUrl);

    const wrapper = wrapperFor(tokenConfig(v.writeToken, multipartFetch), newQueryClient());
    const { result } = renderHook(() => ({
      replace: useReplaceFile(), versions: useFileVersions(fileId), restore: useRestoreVersion(),
    }), { wrapper });
    let made: FileVersion | undefined;
    await act(async () => { made = await result.current.replace.mutateAsync({ fileId, file: bytes }); });
    expect(made?.state).toBe("pending");
    expect(made?.number).toBe(2);
    await waitFor(() => expect(result.current.versions.data?.data.map((x) => x.state)).toEqual(["current", "previous"]),
      { timeout: server.provisionTimeoutMs, interval: 200 });
    const after = await client.retrieveImage(fileId);
    expect(after.version).toBe(2);
    expect([after.width, after.height]).toEqual([24, 16]);
    expect(after.altText).toBe("A test card");
    expect(after.url).toBe(before.url);
    expect(after.versionedUrl).not.toBe(before.versionedUrl);

    await act(async () => { made = await result.current.restore.mutateAsync({ fileId, number: 1 }); });
    expect(made?.restoredFrom).toBe(1);
    await waitFor(() => expect(result.current.versions.data?.data.map((x) => x.state))
      .toEqual(["current", "previous", "previous"]), { timeout: server.provisionTimeoutMs, interval: 200 });
    expect((await client.retrieveImage(fileId)).width).toBe(before.width);
  }, 3 * server.provisionTimeoutMs);

  it("shows a replace made while the versions list was still on its first fetch, answered before the write", async () => {
    // An image of its own (the other tests count v.fileIds[0]'s versions).
    const client = createAeontelClient(tokenConfig(v.writeToken));
    const form = new FormData();
    form.append("project_id", v.projectId);
    form.append("file", await someJpeg((await client.retrieveImage(v.fileIds[0]!)).versionedUrl), "race.jpg");
    const created = await multipartFetch(`${server.baseUrl}/api/files?duplicates=allow`,
      { method: "POST", headers: { Authorization: `Bearer ${v.writeToken}` }, body: form });
    expect(created.status).toBe(201);
    const fileId = ((await created.json()) as { id: string }).id;
    const imageStatus = async () => ((await (await fetch(`${server.baseUrl}/api/files/${fileId}`,
      { headers: { Authorization: `Bearer ${v.readToken}` } })).json()) as { image?: { status: string } }).image?.status;
    await waitFor(async () => expect(await imageStatus()).toBe("ready"),
      { timeout: server.provisionTimeoutMs, interval: 200 });

    // The list's first fetch is answered by the server at once, but reaches the hook only after the replace.
    let answered = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let versionReads = 0;
    const held: typeof globalThis.fetch = async (input, init) => {
      const response = await multipartFetch(input, init);
      if ((init?.method ?? "GET") === "GET" && String(input).endsWith("/versions") && versionReads++ === 0) {
        answered = true;
        await gate;
      }
      return response;
    };
    const { result } = renderHook(() => ({ replace: useReplaceFile(), versions: useFileVersions(fileId) }),
      { wrapper: wrapperFor(tokenConfig(v.writeToken, held), newQueryClient()) });
    await waitFor(() => expect(answered).toBe(true));
    await act(async () => {
      await result.current.replace.mutateAsync({ fileId, file: await someJpeg(`${server.baseUrl}/i/${fileId}/public`) });
    });
    release();
    await waitFor(() => expect(result.current.versions.data?.data.map((x) => x.state)).toEqual(["current", "previous"]),
      { timeout: server.provisionTimeoutMs, interval: 200 });
  }, 3 * server.provisionTimeoutMs);

  it("refuses bytes that are not an image (415 replacement_not_an_image)", async () => {
    const { result } = renderHook(() => useReplaceFile(), {
      wrapper: wrapperFor(tokenConfig(v.writeToken, multipartFetch), newQueryClient()),
    });
    const text = new Blob(["just words\n"], { type: "text/plain" });
    await act(async () => {
      await result.current.mutateAsync({ fileId: v.fileIds[0]!, file: text }).catch(() => undefined);
    });
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect(result.current.error).toBeInstanceOf(AeontelError);
    expect(result.current.error?.status).toBe(415);
    expect(result.current.error?.code).toBe("replacement_not_an_image");
  });

  it("renders the version's own URLs by default and the stable URL when asked", async () => {
    const image = await createAeontelClient(tokenConfig(v.readToken)).retrieveImage(v.fileIds[0]!);
    const versioned = imageSources(image);
    expect(versioned.src).toContain(image.versionedUrl.replace(/public$/, "w="));
    const stable = imageSources(image, { stable: true, aspectRatio: 1 });
    expect(stable.src).toContain(`${server.baseUrl}/i/${image.fileId}/w=`);
    const { container } = render(<AeontelImage image={image} />);
    expect(container.querySelector("img")?.getAttribute("src")).toBe(versioned.src);
    const redirected = await fetch(stable.src, { redirect: "manual" });
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get("location")).toContain(image.versionedUrl.replace(/public$/, "w="));
  });
});
