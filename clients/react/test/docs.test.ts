// @vitest-environment node
/** What the package tells its users holds: the types match the live server, and the README shows the tested grid. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateSchemaTypes, TARGET } from "../scripts/schema-types.mjs";
import { server } from "./helpers.js";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

describe("src/schema.d.ts", () => {
  it("is what /api/openapi.json of the live server generates", async () => {
    const response = await fetch(`${server.baseUrl}/api/openapi.json`);
    expect(response.status).toBe(200);
    const generated = await generateSchemaTypes(await response.json());
    expect(read(TARGET) === generated, "src/schema.d.ts drifted: run `npm run generate:types`").toBe(true);
  });
});

describe("README.md", () => {
  it("shows examples/ImageGrid.tsx as it is (the grid the tests render)", () => {
    expect(read("README.md")).toContain("```tsx\n" + read("examples/ImageGrid.tsx").trimEnd() + "\n```");
  });

  it("shows examples/UploadGrid.tsx as it is (the grid with uploads the browser test runs)", () => {
    expect(read("README.md")).toContain("```tsx\n" + read("examples/UploadGrid.tsx").trimEnd() + "\n```");
  });
});
