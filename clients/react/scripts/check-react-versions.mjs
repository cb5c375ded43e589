#!/usr/bin/env node
// `npm run check:react-versions`: the built package type-checks as an app's dependency under React 18 and React 19.
// For each major it installs react, react-dom and their @types of that major (and the locked react-query) into a
// temporary folder outside the repository, links dist/ in as @aeontel/react, and runs the locked tsc over a small app
// that renders <AeontelProvider> and <AeontelImage>: a component whose declared type only one React accepts fails here.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const version = (name) => JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const APP = `
import { createElement } from "react";
import { AeontelImage, AeontelProvider, type Image } from "@aeontel/react";

declare const image: Image;
export function Page() {
  return (
    <AeontelProvider baseUrl="https://api.example" token="aet_x">
      <AeontelImage image={image} sizes="50vw" />
      <AeontelImage fileId="fil_1" fallback={<span>loading</span>} />
    </AeontelProvider>
  );
}
export const made = createElement(AeontelImage, { image });
`;
const TSCONFIG = {
  compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "Bundler", jsx: "react-jsx", strict: true,
    noEmit: true, skipLibCheck: false, types: [] },
  files: ["app.tsx"],
};

const work = mkdtempSync(join(tmpdir(), "aeontel-react-versions-"));
try {
  for (const major of [18, 19]) {
    const app = join(work, `react-${major}`);
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: `react-${major}-check`, private: true, type: "module" }));
    execFileSync(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error",
      `react@${major}`, `react-dom@${major}`, `@types/react@${major}`, `@types/react-dom@${major}`,
      `@tanstack/react-query@${version("@tanstack/react-query")}`], { cwd: app, stdio: "inherit" });
    const pkg = join(app, "node_modules", "@aeontel", "react");
    mkdirSync(pkg, { recursive: true });
    cpSync(join(root, "dist"), join(pkg, "dist"), { recursive: true });
    cpSync(join(root, "package.json"), join(pkg, "package.json"));
    writeFileSync(join(app, "app.tsx"), APP);
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify(TSCONFIG));
    execFileSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: app, stdio: "inherit" });
    console.log(`@aeontel/react type-checks with React ${major} (@types/react ${JSON.parse(
      readFileSync(join(app, "node_modules", "@types", "react", "package.json"), "utf8")).version})`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
