/** useUploadFile and useUploadedImage against the real server: one-time URLs, progress, cancel, a second use refused. */
import { QueryClientProvider } from "@tanstack/react-query";
import { act, render, renderHook, screen, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { describe, expect, it } from "vitest";
import {
  AeontelError,
  AeontelImage,
  uploadToUrl,
  useUploadedImage,
  useUploadFile,
  type UploadProgress,
  type UploadUrl,
} from "../src/index.js";
import { newQueryClient, server } from "./helpers.js";

const { u } = server;

/** What the app's own server does with its write token: ask for a one-time URL. */
async function makeUploadUrl(body: Record<string, unknown> = {}): Promise<UploadUrl & { uploadUrl: string }> {
  const response = await fetch(`${server.baseUrl}/api/uploads`, {
    method: "POST",
    headers: { Authorization: `Bearer ${u.writeToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ projectId: u.projectId, ...body }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as UploadUrl & { uploadUrl: string };
}

/** A real PNG made in the page (jsdom has no canvas): a 1×1 red pixel, scaled by the images service later. */
const PNG_1PX = Uint8Array.from(atob(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"), (c) => c.charCodeAt(0));

function queryWrapper() {
  const client = newQueryClient();
  return ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}

describe("useUploadFile", () => {
  it("uploads through a URL from the app's server with progress; the file becomes an image with its alt text", async () => {
    const asked: string[] = [];
    const seen: UploadProgress[] = [];
    const { result } = renderHook(() => useUploadFile({
      uploadUrl: async (_file, { name }) => {
        asked.push(name);
        return makeUploadUrl({ metadata: { altText: "A red dot" }, maxBytes: 100_000 });
      },
      onProgress: (progress) => seen.push(progress),
    }));
    expect(result.current.state).toBe("idle");
    const file = new File([PNG_1PX], "dot.png", { type: "image/png" });
    let uploaded: Awaited<ReturnType<typeof result.current.upload>> | undefined;
    await act(async () => {
      uploaded = await result.current.upload(file);
    });
    expect(asked).toEqual(["dot.png"]);
    expect(result.current.state).toBe("done");
    expect(uploaded!.state).toBe("used");
    expect(uploaded!.file).toMatchObject({ name: "dot.png", size: PNG_1PX.length, projectId: u.projectId, isImage: true });
    expect(result.current.result).toEqual(uploaded);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)!.fraction).toBe(1);
    expect(result.current.progress!.loaded).toBe(result.current.progress!.total);

    // The browser follows its upload with the same URL, no token, until the image exists; then it renders.
    const url = result.current.uploadUrl!;
    const followed = renderHook(() => useUploadedImage(url, 200), { wrapper: queryWrapper() });
    await waitFor(() => expect(followed.result.current.data?.image).toBeTruthy(), { timeout: server.provisionTimeoutMs });
    const image = followed.result.current.data!.image!;
    expect(image).toMatchObject({ fileId: uploaded!.file!.id, width: 1, height: 1 });
    // The alt text may land after the first sight of the image: render the image as it is once it has it.
    let described = image;
    await waitFor(async () => {
      const again = await (await fetch(url)).json();
      expect(again.image.altText).toBe("A red dot");
      described = again.image;
    });
    render(<AeontelImage image={described} />);
    expect(screen.getByRole("img").getAttribute("width")).toBe("1");

    // A second use of the same URL is refused, typed.
    const second = await uploadToUrl(url, file).catch((error: unknown) => error);
    expect(second).toBeInstanceOf(AeontelError);
    expect(second).toMatchObject({ status: 409, code: "upload_url_used" });
  }, 3 * server.provisionTimeoutMs);

  it("refuses a file over the URL's limit: at once when the limit is known, from the server otherwise", async () => {
    const big = new File([new Uint8Array(5000)], "big.bin");
    const known = renderHook(() => useUploadFile({ uploadUrl: () => makeUploadUrl({ maxBytes: 1000 }) }));
    await act(async () => {
      await expect(known.result.current.upload(big)).rejects.toMatchObject({ code: "file_too_large", status: 413 });
    });
    expect(known.result.current.state).toBe("error");

    const made = await makeUploadUrl({ maxBytes: 1000 });
    const unknown = renderHook(() => useUploadFile({ uploadUrl: made.uploadUrl }));
    await act(async () => {
      await expect(unknown.result.current.upload(big)).rejects.toMatchObject({ code: "file_too_large", status: 413 });
    });
    expect(unknown.result.current.error!.detail).toContain("1,000 bytes");
    // The URL was not used up by the refused file.
    const status = await (await fetch(made.uploadUrl)).json();
    expect(status.state).toBe("open");
  });

  it("cancels before the bytes go: nothing is stored and the URL stays usable", async () => {
    const made = await makeUploadUrl();
    let handOut: (url: string) => void = () => {};
    const { result } = renderHook(() => useUploadFile({
      uploadUrl: () => new Promise<string>((resolve) => (handOut = resolve)),
    }));
    let pending: Promise<unknown> | undefined;
    act(() => {
      pending = result.current.upload(new File([PNG_1PX], "dot.png")).catch((error: unknown) => error);
    });
    await waitFor(() => expect(result.current.state).toBe("preparing"));
    act(() => result.current.cancel());
    handOut(made.uploadUrl); // the app's server answers only after the user canceled
    expect(await pending).toMatchObject({ code: "upload_canceled", status: 0 });
    await waitFor(() => expect(result.current.state).toBe("canceled"));
    const status = await (await fetch(made.uploadUrl)).json();
    expect(status.state).toBe("open");
    expect(status.file).toBeNull();
  });

  it("cancels an upload whose bytes are on their way (at its first progress event)", async () => {
    const made = await makeUploadUrl();
    const { result } = renderHook(() => useUploadFile({
      uploadUrl: made.uploadUrl,
      onProgress: () => result.current.cancel(),
    }));
    const file = new File([new Uint8Array(8 * 1024 * 1024)], "large.bin");
    let outcome: unknown;
    await act(async () => {
      outcome = await result.current.upload(file).catch((error: unknown) => error);
    });
    expect(outcome).toBeInstanceOf(AeontelError);
    expect(outcome).toMatchObject({ code: "upload_canceled", status: 0 });
    expect(result.current.state).toBe("canceled");
  });

  it("types an unknown URL as a 404", async () => {
    const made = await makeUploadUrl();
    const wrong = made.uploadUrl.replace(/[^/]+$/, "not-the-secret");
    const { result } = renderHook(() => useUploadFile({ uploadUrl: wrong }));
    await act(async () => {
      await expect(result.current.upload(new Blob(["x"]), "x.txt")).rejects.toMatchObject({
        status: 404, code: "upload_url_not_found" });
    });
  });
});
