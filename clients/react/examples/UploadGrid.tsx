import { AeontelImage, imagesOf, useListImages, useUploadedImage, useUploadFile } from "@aeontel/react";

export interface UploadGridProps {
  /** Asks your own server for a one-time upload URL (it calls POST /api/uploads with its write token). */
  getUploadUrl: () => Promise<{ uploadUrl: string; maxBytes?: number }>;
  projectId?: string;
  limit?: number;
}

/**
 * Upload from the browser with no secret, see the new image as soon as it is processed, and a grid below that
 * never shifts: every <AeontelImage> has its size and dominant colour before its pixels arrive (the grid shows each
 * image's "card" crop: a workspace preset, 1:1 by default).
 */
export function UploadGrid({ getUploadUrl, projectId, limit = 50 }: UploadGridProps) {
  const list = useListImages({ projectId, limit });
  const uploader = useUploadFile({ uploadUrl: getUploadUrl });
  const uploaded = useUploadedImage(uploader.uploadUrl);
  const image = uploaded.data?.image;

  return (
    <section>
      <p>
        <input type="file" accept="image/*" aria-label="Upload an image"
               onChange={(event) => {
                 const file = event.target.files?.[0];
                 if (file) uploader.upload(file).catch(() => {}); // the error is in uploader.error
               }} />{" "}
        <progress max={1} value={uploader.progress?.fraction ?? 0} />{" "}
        <button type="button" onClick={uploader.cancel} disabled={uploader.state !== "uploading"}>Cancel</button>
        <output>{uploader.error ? uploader.error.detail : uploader.state}</output>
      </p>
      {/* A fixed box for the new image, so its arrival moves nothing below it. */}
      <div style={{ width: 320, height: 240, background: "#f3f3f3" }}>
        {image && (
          <AeontelImage image={image} aspectRatio={4 / 3} sizes="320px" priority data-testid="uploaded"
                        style={{ width: "100%" }} />
        )}
      </div>
      {list.isError && <p role="alert">{list.error.detail}</p>}
      <ul style={{ display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(160px, 1fr))", gap: 8,
                   listStyle: "none", margin: 0, padding: 0 }}>
        {imagesOf(list.data).map((one) => (
          <li key={one.fileId}>
            <AeontelImage image={one} crop="card" sizes="(max-width: 600px) 50vw, 200px"
                          style={{ width: "100%", display: "block" }} />
          </li>
        ))}
      </ul>
    </section>
  );
}
