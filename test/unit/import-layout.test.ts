// Which folders may import which: the product never loads the benchmarks, and the benchmarks use only
// the parts of bin/ meant to be shared, not the CLI's internals.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

/** Every .ts file below `dir`, relative to the repository root. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/** The repository-relative files that `file` imports by a relative path (static and dynamic imports). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)"(\.{1,2}\/[^"]+)"/g)) {
    found.push(relative(ROOT, resolve(ROOT, file, "..", m[1]!)));
  }
  return found;
}

describe("import layout", () => {
  it("keeps bench/ out of the product; bin/commands/bench.ts is the one door into it", () => {
    const product = ["actors", "streams", "native", "schemas", "bin"].flatMap(sources);
    const offenders = product
      .filter((f) => f !== join("bin", "commands", "bench.ts"))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => i.startsWith("bench/"))
          .map((i) => `${f} → ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  it("lets bench/ import from bin/ only the modules shared by design", () => {
    const shared = ["bin/flags.ts", "bin/engine-process.ts", "bin/game-simulator.ts"];
    const offenders = sources("bench").flatMap((f) =>
      importsOf(f)
        .filter((i) => i.startsWith("bin/") && !shared.includes(i))
        .map((i) => `${f} → ${i}`),
    );
    expect(offenders).toEqual([]);
  });
});
