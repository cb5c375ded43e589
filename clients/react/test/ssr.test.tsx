// @vitest-environment node
/** <AeontelImage> renders on a server: no window, no document, the same attributes as in the browser. */
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { AeontelImage } from "../src/index.js";
import { server, serverImages } from "./helpers.js";

describe("server rendering", () => {
  it("renders the full <img> with renderToString in Node", async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe("undefined");
    const image = (await serverImages(server.a))[0]!;
    const html = renderToString(<AeontelImage image={image} sizes="50vw" />);
    expect(html.startsWith("<img")).toBe(true);
    expect(html).toContain(`width="${image.width}"`);
    expect(html).toContain(`height="${image.height}"`);
    expect(html).toContain('loading="lazy"');
    expect(html).toContain('decoding="async"');
    expect(html).toContain('sizes="50vw"');
    expect(html).toContain(`srcSet="${image.versionedUrl.replace(/public$/, "")}`);
    expect(html).toContain(`aspect-ratio:${image.width} / ${image.height}`);
    expect(html).toContain(`background-color:${image.placeholder.dominantColor}`);
  });
});
