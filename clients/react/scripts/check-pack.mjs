#!/usr/bin/env node
// `npm run check:pack`: packs the package as it would be published (`npm pack`, whose `prepack` builds dist/), installs
// the tarball with its peer dependencies into a temporary folder outside the repository, and imports it there as an
// app would: every export is present, and <AeontelImage> renders with react-dom/server.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "aeontel-react-pack-"));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const version = (name) => JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;
try {
  const said = execFileSync(npm, ["pack", "--json", "--pack-destination", work], { cwd: root, encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"] });
  // prepack's own output (the build) comes first on stdout; the JSON report is the last thing printed.
  const packed = JSON.parse(said.slice(said.search(/^\[/m)));
  const tarball = join(work, packed[0].filename);
  const files = packed[0].files.map((file) => file.path);
  for (const wanted of ["dist/index.js", "dist/index.d.ts", "dist/image.js", "dist/upload.js", "dist/schema.d.ts", "README.md"]) {
    if (!files.includes(wanted)) throw new Error(`the tarball lacks ${wanted}`);
  }
  const app = join(work, "app");
  execFileSync("mkdir", ["-p", app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "pack-check", private: true, type: "module" }));
  execFileSync(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", tarball,
    `react@${version("react")}`, `react-dom@${version("react-dom")}`,
    `@tanstack/react-query@${version("@tanstack/react-query")}`], { cwd: app, stdio: "inherit" });
  writeFileSync(join(app, "check.mjs"), `
import { createElement } from "react";
import { renderToString } from "react-dom/server";
import * as pkg from "@aeontel/react";
for (const name of ["AeontelProvider", "useListImages", "useRetrieveImage", "useDeleteImage", "AeontelImage",
                    "useUploadFile", "useUploadedImage", "uploadToUrl", "imageSources", "AeontelError"]) {
  if (typeof pkg[name] !== "function") throw new Error("@aeontel/react does not export " + name);
}
const image = { fileId: "fil_1", url: "https://img.example/h/fil_1/public", width: 800, height: 600, decorative: false,
  altText: "x", requireSignedURLs: false, placeholder: { blurhash: null, dominantColor: "#123456" } };
const html = renderToString(createElement(pkg.AeontelImage, { image, sizes: "50vw" }));
if (!html.includes('width="800"') || !html.includes("w=640,fit=scale-down,format=auto 640w")) throw new Error(html);
console.log("imported @aeontel/react from the tarball; AeontelImage rendered: " + html.length + " characters");
`);
  execFileSync(process.execPath, ["check.mjs"], { cwd: app, stdio: "inherit" });
  console.log(`pack check passed (${packed[0].filename}, ${files.length} files, outside the repository in ${work})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
