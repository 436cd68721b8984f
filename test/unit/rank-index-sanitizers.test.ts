// The C++ rank index under AddressSanitizer and UndefinedBehaviorSanitizer: builds the core (the
// binding.gyp sources but the N-API binding) with test/native/rank-index-stress.cc and runs it. The
// stress run checks every op against a naive model, and the sanitizers check every memory access:
// out-of-bounds reads, use of freed nodes, leaks and undefined arithmetic that the JS-level tests
// cannot see.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

it("the C++ core agrees with a naive model and is clean under ASan and UBSan", () => {
  const gyp = JSON.parse(readFileSync(join(root, "binding.gyp"), "utf8")) as {
    targets: Array<{ sources: string[] }>;
  };
  const sources = gyp.targets[0]!.sources.filter((s) => !s.endsWith("binding.cc")).map((s) => join(root, s));
  const dir = mkdtempSync(join(tmpdir(), "cairn-sanitizers-"));
  try {
    const exe = join(dir, "rank-index-stress");
    const build = spawnSync(
      process.env.CXX ?? "g++",
      [
        "-std=c++17",
        "-O1",
        "-g",
        "-fno-omit-frame-pointer",
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        `-I${join(root, "native/src")}`,
        ...sources,
        join(root, "test/native/rank-index-stress.cc"),
        "-o",
        exe,
      ],
      { encoding: "utf8" },
    );
    expect(build.status, build.stderr).toBe(0);
    const run = spawnSync(exe, ["300", "7"], { encoding: "utf8", timeout: 90_000 });
    expect(`${run.stdout}${run.stderr}`).toBe("ok\n");
    expect(run.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
