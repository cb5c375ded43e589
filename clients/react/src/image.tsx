import { useEffect, useRef, useState, type CSSProperties, type ImgHTMLAttributes, type ReactElement, type ReactNode } from "react";
import { useRetrieveImage } from "./hooks.js";
import type { FocalPoint, Image } from "./types.js";

/** Widths the `srcset` offers by default (each at most the image's own width). */
export const DEFAULT_WIDTHS: readonly number[] = [160, 320, 480, 640, 960, 1280, 1920, 2560];

type ImgProps = Omit<ImgHTMLAttributes<HTMLImageElement>, "src" | "srcSet" | "width" | "height" | "alt" | "sizes">;

export interface AeontelImageProps extends ImgProps {
  /** The image as the API answers it (from `useListImages`, `useRetrieveImage`, an upload's status, your server). */
  image?: Image;
  /** Or its file id: the component fetches it with `useRetrieveImage` (needs `AeontelProvider`). */
  fileId?: string;
  /** The `sizes` attribute: how wide the image is shown at each viewport width. Default `"100vw"`. */
  sizes?: string;
  /** The widths the `srcset` offers; those above what the image (or its crop) has are left out. */
  widths?: readonly number[];
  /** Crop to this width / height ratio (`fit=cover`), centred on the image's focal point when it has one. */
  aspectRatio?: number;
  /** A workspace crop preset (`"hero"`, `"card"` …): the image's crop for it (stored, focal point or automatic),
   * with its own `srcset`, size and placeholder. Takes precedence over `aspectRatio`. */
  crop?: string;
  /**
   * Use the image's stable URL (`url`: follows a replace of its bytes, cached 60 s by browsers) instead of the current
   * version's own URL (`versionedUrl`, the default: its pixels never change, so any cache may keep it for ever; a
   * re-render with the image refetched after a replace shows the new version).
   */
  stable?: boolean;
  /** Default: the image's alt text (`""` when it is decorative or has none). */
  alt?: string;
  /** `"color"` (default) fills the box with the image's dominant colour until it loads; `"none"` does not. */
  placeholder?: "color" | "none";
  /** Above the fold: load at once with high priority instead of lazily. */
  priority?: boolean;
  /** Shown while a `fileId` is being fetched (the size is not known yet). Default: nothing. */
  fallback?: ReactNode;
}

/** The `public` URL to build on: the version's own (default), or the stable one that follows replaces. */
function publicUrl(image: Image, stable: boolean): string {
  return stable || !image.versionedUrl ? image.url : image.versionedUrl;
}

/** The flexible-variant URL base of a public image: its delivery URL without the variant name. */
function variantBase(image: Image, stable: boolean): string | null {
  if (image.requireSignedURLs) return null; // signed URLs exist for named variants only
  if (image.format === "svg" || image.mimeType === "image/svg+xml") return null; // vectors are not resized
  const url = publicUrl(image, stable);
  const at = url.lastIndexOf("/");
  return at > 0 && !url.includes("?") ? url.slice(0, at + 1) : null;
}

function focalPointOf(image: Image): FocalPoint | null {
  const point = image.focalPoint;
  if (!point || typeof point.x !== "number" || typeof point.y !== "number") return null;
  return { x: Math.min(1, Math.max(0, point.x)), y: Math.min(1, Math.max(0, point.y)) };
}

/** The width / height of a crop preset's `ratio` ("16:9", "1.91:1"). */
function ratioOf(text: string): number | null {
  const [w, h] = text.split(":").map(Number);
  return w && h && Number.isFinite(w / h) ? w / h : null;
}

/**
 * A named crop's sources: its URL as the API lists it with only the size changed per width (so the rectangle,
 * trim or gravity stay exactly the server's), never wider than the crop itself.
 */
function cropSources(image: Image, name: string, widths: readonly number[] | undefined,
                     stable: boolean): ImageSources | null {
  const crop = image.crops?.[name];
  const ratio = crop ? ratioOf(crop.ratio) : null;
  if (!crop || !ratio) return null;
  const natural = { width: Math.max(1, image.width), height: Math.max(1, image.height) };
  const maxWidth = crop.rect ? crop.rect.width : Math.max(1, Math.floor(Math.min(natural.width, natural.height * ratio)));
  const heightFor = (width: number) => Math.max(1, Math.round(width / ratio));
  if (!crop.url) return { src: publicUrl(image, stable), width: maxWidth, height: heightFor(maxWidth) };
  const at = crop.url.lastIndexOf("/");
  const base = (stable ? variantBase(image, true) : null) ?? crop.url.slice(0, at + 1);
  const kept = crop.url.slice(at + 1).split(",").filter((option) => !/^(w|h|width|height|format)=/.test(option));
  const url = (width: number) => `${base}${[...kept, `w=${width}`, `h=${heightFor(width)}`, "format=auto"].join(",")}`;
  const offered = [...new Set([...(widths ?? DEFAULT_WIDTHS).filter((w) => w > 0 && w < maxWidth).map(Math.round),
    maxWidth])].sort((x, y) => x - y);
  const fallback = offered.filter((width) => width <= 1024).at(-1) ?? offered[0]!;
  return { src: url(fallback), srcSet: offered.map((width) => `${url(width)} ${width}w`).join(", "),
           width: maxWidth, height: heightFor(maxWidth) };
}

export interface ImageSources {
  src: string;
  srcSet?: string;
  width: number;
  height: number;
}

/**
 * The `src`, `srcset`, `width` and `height` an `<img>` needs for an image, as pure data (usable without React, on a
 * server or in another framework). Public images get flexible variants
 * (`…/w=640,fit=scale-down,format=auto`, or `w=…,h=…,fit=cover,gravity=XxY` when cropping); private images get the
 * one signed `public` URL the API hands out, with no `srcset`. With `crop`, the image's crop for that preset
 * (unknown presets fall back to the whole image). The URLs are the current version's own (`versionedUrl`: never
 * stale in any cache) unless `stable`, which builds on the stable `url` that follows a replace of the bytes.
 */
export function imageSources(
  image: Image,
  options: { widths?: readonly number[]; aspectRatio?: number; crop?: string; stable?: boolean } = {},
): ImageSources {
  const stable = options.stable ?? false;
  const named = options.crop ? cropSources(image, options.crop, options.widths, stable) : null;
  if (named) return named;
  const natural = { width: Math.max(1, image.width), height: Math.max(1, image.height) };
  const ratio = options.aspectRatio && options.aspectRatio > 0 && Number.isFinite(options.aspectRatio)
    ? options.aspectRatio : null;
  // The largest box the image can fill without upscaling.
  const maxWidth = ratio ? Math.max(1, Math.floor(Math.min(natural.width, natural.height * ratio))) : natural.width;
  const heightFor = (width: number) => Math.max(1, Math.round(ratio ? width / ratio : (width * natural.height) / natural.width));
  const base = variantBase(image, stable);
  if (base === null) {
    return { src: publicUrl(image, stable), width: maxWidth, height: heightFor(maxWidth) };
  }
  const focal = focalPointOf(image);
  const options_ = (width: number) => {
    if (!ratio) return `w=${width},fit=scale-down,format=auto`;
    const gravity = focal ? `,gravity=${round3(focal.x)}x${round3(focal.y)}` : "";
    return `w=${width},h=${heightFor(width)},fit=cover${gravity},format=auto`;
  };
  const widths = [...new Set([...(options.widths ?? DEFAULT_WIDTHS).filter((w) => w > 0 && w < maxWidth).map(Math.round),
    maxWidth])].sort((x, y) => x - y);
  const srcSet = widths.map((width) => `${base}${options_(width)} ${width}w`).join(", ");
  const fallback = widths.filter((width) => width <= 1024).at(-1) ?? widths[0]!;
  return { src: `${base}${options_(fallback)}`, srcSet, width: maxWidth, height: heightFor(maxWidth) };
}

function round3(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/**
 * An `<img>` for an aeontel image that never shifts the page: `width`/`height` (and CSS `aspect-ratio`) come from the
 * image, the box is filled with its dominant colour until the pixels arrive, the `srcset` offers flexible-variant
 * widths in the best format the browser takes (`format=auto`), and it loads lazily unless `priority`. It reads no
 * browser globals while rendering, so it renders on a server (`renderToString`) the same.
 */
// Components declare `ReactElement | null`: an inferred return type would be the ReactNode of whichever @types/react
// built dist/, and React 18's JSX refuses React 19's ReactNode as a component's result (TS2786).
export function AeontelImage(props: AeontelImageProps): ReactElement | null {
  const { image, fileId, fallback, ...rest } = props;
  if (image) return <ImageElement image={image} {...rest} />;
  if (fileId) return <FetchedImage fileId={fileId} fallback={fallback} {...rest} />;
  return <>{fallback ?? null}</>;
}

function FetchedImage({ fileId, fallback, ...rest }: Omit<AeontelImageProps, "image"> & { fileId: string }): ReactElement {
  const query = useRetrieveImage(fileId);
  return query.data ? <ImageElement image={query.data} {...rest} /> : <>{fallback ?? null}</>;
}

function ImageElement(props: Omit<AeontelImageProps, "fileId" | "fallback"> & { image: Image }): ReactElement {
  const { image, sizes = "100vw", widths, aspectRatio, crop, stable, alt, placeholder = "color", priority = false,
          style, onLoad, loading, decoding, ...rest } = props;
  const sources = imageSources(image, { widths, aspectRatio, crop, stable });
  const [loaded, setLoaded] = useState(false);
  const ref = useRef<HTMLImageElement>(null);
  useEffect(() => {
    // Loaded before hydration attached onLoad (from the browser cache, or server-rendered HTML).
    if (ref.current?.complete && ref.current.naturalWidth > 0) setLoaded(true);
  }, [sources.src]);
  const colour = placeholder === "color" && !loaded ? image.placeholder.dominantColor : null;
  const focal = focalPointOf(image);
  const boxStyle: CSSProperties = {
    aspectRatio: `${sources.width} / ${sources.height}`,
    height: "auto",
    maxWidth: "100%",
    // The focal point is where a layout that crops (`object-fit: cover` in your CSS) keeps the subject; it changes
    // nothing while the image fills its box as it is.
    ...(focal ? { objectPosition: `${focal.x * 100}% ${focal.y * 100}%` } : {}),
    // A crop the URL could not make (a private image's one signed URL) is made by the browser, at the focal point.
    ...((aspectRatio || crop) && !sources.srcSet ? { objectFit: "cover" as const,
      objectPosition: focal ? `${focal.x * 100}% ${focal.y * 100}%` : "50% 50%" } : {}),
    ...(colour ? { backgroundColor: colour } : {}),
    ...style,
  };
  return (
    <img
      ref={ref}
      {...rest}
      src={sources.src}
      srcSet={sources.srcSet}
      sizes={sources.srcSet ? sizes : undefined}
      width={sources.width}
      height={sources.height}
      alt={alt ?? (image.decorative ? "" : (image.altText ?? ""))}
      loading={loading ?? (priority ? "eager" : "lazy")}
      decoding={decoding ?? "async"}
      fetchPriority={priority ? "high" : undefined}
      data-file-id={image.fileId}
      style={boxStyle}
      onLoad={(event) => {
        setLoaded(true);
        onLoad?.(event);
      }}
    />
  );
}
