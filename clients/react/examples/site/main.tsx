/**
 * The example site: a page on its own origin that uses the aeontel API cross-origin (CORS) with a read token its
 * server hands it, and uploads through one-time URLs its server makes with the write token it keeps.
 * `?plain=1` renders the same images as plain `<img src=public>`, for the bytes comparison in bench/.
 */
import { QueryClient } from "@tanstack/react-query";
import { AeontelProvider, useListImages, imagesOf } from "@aeontel/react";
import { createRoot } from "react-dom/client";
import { UploadGrid } from "../UploadGrid.js";

interface SiteConfig {
  apiUrl: string;
  readToken: string;
  projectId: string;
}

async function getUploadUrl(): Promise<{ uploadUrl: string; maxBytes?: number }> {
  const response = await fetch("/upload-url", { method: "POST" });
  if (!response.ok) throw new Error(`the site could not get an upload URL (${response.status})`);
  return response.json();
}

function PlainGrid({ projectId }: { projectId: string }) {
  const list = useListImages({ projectId, limit: 50 });
  return (
    <ul style={{ display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(160px, 1fr))", gap: 8,
                 listStyle: "none", margin: 0, padding: 0 }}>
      {imagesOf(list.data).map((image) => (
        <li key={image.fileId}><img src={image.url} alt="" style={{ width: "100%", display: "block" }} /></li>
      ))}
    </ul>
  );
}

const config: SiteConfig = await (await fetch("/config")).json();
const queryClient = new QueryClient();
const plain = new URLSearchParams(location.search).has("plain");
createRoot(document.getElementById("root")!).render(
  <AeontelProvider baseUrl={config.apiUrl} token={config.readToken} queryClient={queryClient}>
    {plain ? <PlainGrid projectId={config.projectId} /> : <UploadGrid getUploadUrl={getUploadUrl} projectId={config.projectId} />}
  </AeontelProvider>,
);
