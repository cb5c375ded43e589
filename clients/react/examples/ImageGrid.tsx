import { imagesOf, useDeleteImage, useListImages, type Image } from "@aeontel/react";
import { useState } from "react";

export interface ImageGridProps {
  workspaceId?: string;
  projectId?: string;
  q?: string;
  limit?: number;
}

/** A grid of a workspace's images, a page at a time, each deletable. Nothing moves while thumbnails load. */
export function ImageGrid({ workspaceId, projectId, q, limit = 24 }: ImageGridProps) {
  const list = useListImages({ workspaceId, projectId, q, limit });
  const remove = useDeleteImage();

  if (list.isPending) return <p>Loading images…</p>;
  if (list.isError) return <p role="alert">{list.error.title}: {list.error.detail}</p>;

  return (
    <section>
      <ul style={{ display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(160px, 1fr))", gap: 8,
                   listStyle: "none", margin: 0, padding: 0 }}>
        {imagesOf(list.data).map((image) => (
          <li key={image.fileId}>
            <Tile image={image} onDelete={() => remove.mutate(image.fileId)} />
          </li>
        ))}
      </ul>
      {list.hasNextPage && (
        <button type="button" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          {list.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      )}
      {remove.isError && <p role="alert">Could not delete: {remove.error.detail}</p>}
    </section>
  );
}

function Tile({ image, onDelete }: { image: Image; onDelete: () => void }) {
  const [loaded, setLoaded] = useState(false);
  // The box has the image's own proportions from the start, filled with its dominant colour until it loads.
  const ratio = image.width > 0 && image.height > 0 ? `${image.width} / ${image.height}` : "1 / 1";
  return (
    <figure data-file-id={image.fileId} style={{ margin: 0 }}>
      <div style={{ aspectRatio: ratio, background: image.placeholder.dominantColor ?? "#e5e5e5", overflow: "hidden" }}>
        <img
          src={image.variants.thumbnail}
          alt={image.decorative ? "" : (image.altText ?? image.name)}
          width={image.width}
          height={image.height}
          loading="lazy"
          decoding="async"
          onLoad={() => setLoaded(true)}
          style={{ display: "block", width: "100%", height: "100%", objectFit: "cover",
                   opacity: loaded ? 1 : 0, transition: "opacity 150ms" }}
        />
      </div>
      <figcaption>
        {image.name}{" "}
        <button type="button" onClick={onDelete} aria-label={`Delete ${image.name}`}>Delete</button>
      </figcaption>
    </figure>
  );
}
