/** <AeontelImage> against the real server: attributes, srcset URLs the images service really serves, placeholder. */
import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AeontelImage, createAeontelClient, imageSources, type Image } from "../src/index.js";
import { newQueryClient, rgb, server, serverImages, tokenConfig, wrapperFor } from "./helpers.js";

const { a, b, p } = server;

function srcsetEntries(img: HTMLElement): Array<{ url: string; width: number }> {
  return img.getAttribute("srcset")!.split(", ").map((entry) => {
    const [url, descriptor] = entry.split(" ");
    return { url: url!, width: Number(descriptor!.replace(/w$/, "")) };
  });
}

describe("<AeontelImage>", () => {
  it("renders width, height, aspect-ratio, dominant colour, lazy loading and a srcset of flexible variants", async () => {
    const image = (await serverImages(a)).find((one) => one.width >= 60)!;
    const { container } = render(
      <AeontelImage image={image} sizes="(max-width: 600px) 100vw, 50vw" widths={[16, 32, 48, 4000]} />);
    const img = container.querySelector("img")!; // alt="" (no alt text yet): presentational, no img role
    expect(img.getAttribute("width")).toBe(String(image.width));
    expect(img.getAttribute("height")).toBe(String(image.height));
    expect(img.style.aspectRatio).toBe(`${image.width} / ${image.height}`);
    expect(img.style.backgroundColor).toBe(rgb(image.placeholder.dominantColor!));
    expect(img.getAttribute("loading")).toBe("lazy");
    expect(img.getAttribute("decoding")).toBe("async");
    expect(img.getAttribute("sizes")).toBe("(max-width: 600px) 100vw, 50vw");
    expect(img.getAttribute("alt")).toBe("");
    const base = image.versionedUrl.replace(/public$/, ""); // the version's own URL, by default
    // Never wider than the image: 4000 is left out, and the image's own width closes the list.
    const entries = srcsetEntries(img);
    expect(entries.map((entry) => entry.width)).toEqual([16, 32, 48, image.width]);
    for (const entry of entries) {
      expect(entry.url).toBe(`${base}w=${entry.width},fit=scale-down,format=auto`);
    }
    expect(img.getAttribute("src")).toBe(entries.at(-1)!.url);
    // The images service serves each of them, in a format the browser asked for.
    for (const entry of entries) {
      const response = await fetch(entry.url, { headers: { Accept: "image/avif,image/webp,*/*" } });
      expect(response.status).toBe(200);
      expect(response.headers.get("Content-Type")).toMatch(/^image\//);
    }
  });

  it("crops to an aspect ratio around the focal point, with the crop's own size", async () => {
    const image = (await serverImages(a)).find((one) => one.width > one.height)!;
    const focused = { ...image, focalPoint: { x: 0.25, y: 0.75 } } as Image;
    render(<AeontelImage image={focused} aspectRatio={1} widths={[10, 20]} alt="Square" priority />);
    const img = screen.getByRole("img", { name: "Square" });
    const side = Math.min(image.width, image.height);
    expect([img.getAttribute("width"), img.getAttribute("height")]).toEqual([String(side), String(side)]);
    expect(img.getAttribute("loading")).toBe("eager");
    expect(img.getAttribute("fetchpriority")).toBe("high");
    const entries = srcsetEntries(img);
    expect(entries.map((entry) => entry.width)).toEqual([10, 20, side]);
    expect(entries[0]!.url).toMatch(/\/w=10,h=10,fit=cover,gravity=0\.25x0\.75,format=auto$/);
    const response = await fetch(entries[1]!.url);
    expect(response.status).toBe(200);
    // Without a focal point the crop is centred (no gravity option).
    expect(imageSources(image, { aspectRatio: 2, widths: [10] }).srcSet).not.toContain("gravity");
  });

  it("renders a named crop with its own srcset, size and placeholder, stored or automatic", async () => {
    const client = createAeontelClient({ baseUrl: server.baseUrl, token: b.writeToken });
    const target = b.fileIds.at(-1)!;
    const before = await client.retrieveImage(target);
    const side = Math.min(before.width, before.height) - 2;
    const image = await client.updateImage(target, { crops: { card: { x: 1, y: 1, width: side, height: side } } });
    try {
      const { container } = render(<AeontelImage image={image} crop="card" widths={[8, 16]} />);
      const img = container.querySelector("img")!;
      expect([img.getAttribute("width"), img.getAttribute("height")]).toEqual([String(side), String(side)]);
      expect(img.style.aspectRatio).toBe(`${side} / ${side}`);
      expect(img.style.backgroundColor).toBe(rgb(image.placeholder.dominantColor!));
      const entries = srcsetEntries(img);
      expect(entries.map((entry) => entry.width)).toEqual([8, 16, side]);
      const trim = `trim=1;${before.width - 1 - side};${before.height - 1 - side};1`;
      expect(entries[0]!.url).toMatch(new RegExp(`/${trim},fit=cover,w=8,h=8,format=auto$`));
      for (const entry of entries) {
        const response = await fetch(entry.url, { headers: { Accept: "image/png" } });
        expect(response.status).toBe(200);
      }
      // An automatic crop (no focal point): the images service's saliency, at the preset's ratio.
      const hero = render(<AeontelImage image={image} crop="hero" widths={[32]} />).container.querySelector("img")!;
      const heroWidth = Math.min(image.width, Math.floor((image.height * 16) / 9));
      expect(hero.getAttribute("width")).toBe(String(heroWidth));
      expect(hero.getAttribute("height")).toBe(String(Math.round((heroWidth * 9) / 16)));
      expect(srcsetEntries(hero)[0]!.url).toMatch(/\/fit=cover,gravity=auto,w=32,h=18,format=auto$/);
      expect((await fetch(srcsetEntries(hero)[0]!.url)).status).toBe(200);
      // An unknown preset is the whole image.
      expect(imageSources(image, { crop: "nope" }).width).toBe(image.width);
    } finally {
      await client.updateImage(target, { crops: { card: null } });
    }
  });

  it("puts the focal point in object-position, so a layout that crops keeps the subject", () => {
    const image = { ...server.a, width: 100, height: 50, url: "https://example.test/h/fil_x/public",
      requireSignedURLs: false, format: "jpeg", mimeType: "image/jpeg", decorative: false, altText: null,
      placeholder: { blurhash: null, dominantColor: "#112233" }, focalPoint: { x: 0.1, y: 0.9 }, crops: {},
      fileId: "fil_x" } as unknown as Image;
    const img = render(<AeontelImage image={image} style={{ objectFit: "cover", width: 300, height: 300 }} />)
      .container.querySelector("img")!;
    expect(img.style.objectFit).toBe("cover");
    expect(img.style.objectPosition).toBe("10% 90%");
  });

  it("uses the one signed URL the API hands out for a private image", async () => {
    const [image] = await serverImages(p);
    expect(image!.requireSignedURLs).toBe(true);
    const { container } = render(<AeontelImage image={image!} />);
    const img = container.querySelector("img")!;
    expect(img.getAttribute("src")).toBe(image!.versionedUrl);
    expect(img.hasAttribute("srcset")).toBe(false);
    expect([img.getAttribute("width"), img.getAttribute("height")]).toEqual(["640", "480"]);
    expect((await fetch(image!.versionedUrl)).status).toBe(200);
    expect((await fetch(image!.versionedUrl.split("?")[0]!)).status).toBe(403); // unsigned: refused
    // The stable URL is signed by the product too, and redirects to a freshly signed URL of the current version.
    expect((await fetch(image!.url)).status).toBe(200);
    expect((await fetch(image!.url.split("?")[0]!)).status).toBe(403);
    // A crop of a private image is the browser's: the signed URL with object-fit at the focal point.
    const cropped = render(<AeontelImage image={{ ...image!, focalPoint: { x: 0.2, y: 0.4 } } as Image}
                                         aspectRatio={1} />).container.querySelector("img")!;
    expect([cropped.getAttribute("width"), cropped.getAttribute("height")]).toEqual(["480", "480"]);
    expect(cropped.getAttribute("src")).toBe(image!.versionedUrl);
    expect(cropped.style.objectFit).toBe("cover");
    expect(cropped.style.objectPosition).toBe("20% 40%");
  });

  it("fetches the image by file id through the provider, showing the fallback meanwhile", async () => {
    const image = (await serverImages(a))[0]!;
    render(<AeontelImage fileId={image.fileId} fallback={<span>loading</span>} alt="By id" />,
      { wrapper: wrapperFor(tokenConfig(a.readToken), newQueryClient()) });
    expect(screen.getByText("loading")).toBeTruthy();
    const img = await screen.findByRole("img", { name: "By id" });
    expect(img.getAttribute("width")).toBe(String(image.width));
    expect(img.dataset.fileId).toBe(image.fileId);
  });

  it("uses the image's alt text, and none for a decorative image", async () => {
    const image = (await serverImages(a))[0]!;
    const { rerender } = render(<AeontelImage image={{ ...image, altText: "A lake at dusk" }} />);
    expect(screen.getByRole("img", { name: "A lake at dusk" })).toBeTruthy();
    rerender(<AeontelImage image={{ ...image, altText: "A lake", decorative: true }} placeholder="none" />);
    const img = document.querySelector("img")!;
    expect(img.getAttribute("alt")).toBe("");
    expect(img.style.backgroundColor).toBe("");
  });
});

describe("imageSources", () => {
  it("never offers a width above the image's, and always its own", async () => {
    const image = (await serverImages(a))[0]!;
    for (const widths of [[], [1], [image.width - 1, image.width, image.width + 1], [5, 5, 3]]) {
      const sources = imageSources(image, { widths });
      const offered = sources.srcSet!.split(", ").map((entry) => Number(entry.split(" ")[1]!.slice(0, -1)));
      expect(Math.max(...offered)).toBe(image.width);
      expect(offered).toEqual([...offered].sort((x, y) => x - y));
      expect(new Set(offered).size).toBe(offered.length);
    }
  });
});
