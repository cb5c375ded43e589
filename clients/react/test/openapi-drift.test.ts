// @vitest-environment node
/** The committed types against the document the running server serves (`npm run check:types` checks the source). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generateSchemaTypes, TARGET } from "../scripts/schema-types.mjs";
import { server } from "./helpers.js";

describe("src/schema.d.ts", () => {
  it("is what /api/openapi.json of the live server generates", async () => {
    const response = await fetch(`${server.baseUrl}/api/openapi.json`);
    expect(response.status).toBe(200);
    const generated = await generateSchemaTypes(await response.json());
    const committed = readFileSync(new URL(`../${TARGET}`, import.meta.url), "utf8");
    expect(committed === generated, "src/schema.d.ts drifted: run `npm run generate:types`").toBe(true);
  });
});
