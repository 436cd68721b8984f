// schemas/types.ts is what json-schema-to-typescript makes of the schema files today (regenerating gives no diff).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateTypes } from "../../schemas/generate-types.ts";

describe("schemas/types.ts", () => {
  it("is up to date with the JSON Schema files", async () => {
    const checkedIn = readFileSync(join(import.meta.dirname, "../../schemas/types.ts"), "utf8");
    const fresh = await generateTypes();
    expect(checkedIn.startsWith("// GENERATED FILE")).toBe(true);
    expect(fresh === checkedIn, "schemas/types.ts is stale: run `npx tsx schemas/generate-types.ts`").toBe(
      true,
    );
  });
});
