/** Facet counts and the image facts as filters, against the real server. */
import { renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AeontelError, imagesOf, useImageFacets, useListImages } from "../src/index.js";
import { ids, newQueryClient, server, serverImages, tokenConfig, wrapperFor } from "./helpers.js";

const { a } = server;

describe("useImageFacets", () => {
  it("counts each facet's values among the images the filters match, and the list takes the same filters", async () => {
    const images = await serverImages(a);
    const wrapper = wrapperFor(tokenConfig(a.readToken), newQueryClient());
    const orientation = images[0]!.orientation!;
    const { result } = renderHook(
      () => ({
        all: useImageFacets(),
        narrowed: useImageFacets({ orientation }),
        list: useListImages({ orientation, hasAltText: false, minWidth: 1 }),
      }),
      { wrapper },
    );
    await waitFor(() => expect(Object.values(result.current).every((query) => query.isSuccess)).toBe(true));
    const all = result.current.all.data!;
    expect(all.total).toBe(images.length);
    expect(all.exact).toBe(true);
    const counted = Object.fromEntries(all.facets.orientation!.map((value) => [value.value, value.count]));
    expect(counted[orientation]).toBe(images.filter((image) => image.orientation === orientation).length);
    expect(result.current.narrowed.data!.total).toBe(counted[orientation]);
    const expected = images.filter(
      (image) => image.orientation === orientation && !image.altText && !image.decorative,
    );
    expect(ids(imagesOf(result.current.list.data))).toEqual(ids(expected));
  });

  it("answers a crossed range with a typed error", async () => {
    const wrapper = wrapperFor(tokenConfig(a.readToken), newQueryClient());
    const { result } = renderHook(() => useImageFacets({ minWidth: 10, maxWidth: 5 }, { retry: false }), { wrapper });
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect(result.current.error).toBeInstanceOf(AeontelError);
    expect(result.current.error!.code).toBe("invalid_range");
  });
});
