import { useEffect, useRef, useState, type CSSProperties, type ImgHTMLAttributes, type ReactNode } from "react";
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
  /** Default: the image's alt text (`""` when it is decorative or has none). */
  alt?: string;
  /** `"color"` (default) fills the box with the image's dominant colour until it loads; `"none"` does not. */
  placeholder?: "color" | "none";
  /** Above the fold: load at once with high priority instead of lazily. */
  priority?: boolean;
  /** Shown while a `fileId` is being fetched (the size is not known yet). Default: nothing. */
  fallback?: ReactNode;
}

/** The flexible-variant URL base of a public image: its delivery URL without the variant name. */
function variantBase(image: Image): string | null {
  if (image.requireSignedURLs) return null; // signed URLs exist for named variants only
  if (image.format === "svg" || image.mimeType === "image/svg+xml") return null; // vectors are not resized
  const at = image.url.lastIndexOf("/");
  return at > 0 && !image.url.includes("?") ? image.url.slice(0, at + 1) : null;
}

function focalPointOf(image: Image): FocalPoint | null {
  const point = image.focalPoint;
  if (!point || typeof point.x !== "number" || typeof point.y !== "number") return null;
  return { x: Math.min(1, Math.max(0, point.x)), y: Math.min(1, Math.max(0, point.y)) };
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
 * one signed `public` URL the API hands out, with no `srcset`.
 */
export function imageSources(image: Image, options: { widths?: readonly number[]; aspectRatio?: number } = {}): ImageSources {
  const natural = { width: Math.max(1, image.width), height: Math.max(1, image.height) };
  const ratio = options.aspectRatio && options.aspectRatio > 0 && Number.isFinite(options.aspectRatio)
    ? options.aspectRatio : null;
  // The largest box the image can fill without upscaling.
  const maxWidth = ratio ? Math.max(1, Math.floor(Math.min(natural.width, natural.height * ratio))) : natural.width;
  const heightFor = (width: number) => Math.max(1, Math.round(ratio ? width / ratio : (width * natural.height) / natural.width));
  const base = variantBase(image);
  if (base === null) {
    return { src: image.url, width: maxWidth, height: heightFor(maxWidth) };
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
export function AeontelImage(props: AeontelImageProps) {
  const { image, fileId, fallback, ...rest } = props;
  if (image) return <ImageElement image={image} {...rest} />;
  if (fileId) return <FetchedImage fileId={fileId} fallback={fallback} {...rest} />;
  return fallback ?? null;
}

function FetchedImage({ fileId, fallback, ...rest }: Omit<AeontelImageProps, "image"> & { fileId: string }) {
  const query = useRetrieveImage(fileId);
  return query.data ? <ImageElement image={query.data} {...rest} /> : <>{fallback ?? null}</>;
}

function ImageElement(props: Omit<AeontelImageProps, "fileId" | "fallback"> & { image: Image }) {
  const { image, sizes = "100vw", widths, aspectRatio, alt, placeholder = "color", priority = false, style,
          onLoad, loading, decoding, ...rest } = props;
  const sources = imageSources(image, { widths, aspectRatio });
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
    // A crop the URL could not make (a private image's one signed URL) is made by the browser, at the focal point.
    ...(aspectRatio && !sources.srcSet ? { objectFit: "cover" as const,
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
