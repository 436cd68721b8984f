// The C++ rank index under AddressSanitizer and UndefinedBehaviorSanitizer: builds the core (the
// binding.gyp sources but the N-API binding) with test/native/rank-index-stress.cc, twice (with the
// AVX2 node scans where the CPU has them, and with the baseline scans only), and runs both. The stress
// run checks every op against an order-statistics model and the whole order after each phase, and
// the sanitizers check every memory access: out-of-bounds reads, use of freed nodes, leaks and
// undefined arithmetic that the JS-level tests cannot see.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));

/** Builds the stress binary with `defines`; resolves to its path. */
async function build(dir: string, name: string, defines: string[]): Promise<string> {
  const gyp = JSON.parse(readFileSync(join(root, "binding.gyp"), "utf8")) as {
    targets: Array<{ sources: string[] }>;
  };
  const sources = gyp.targets[0]!.sources.filter((s) => !s.endsWith("binding.cc")).map((s) => join(root, s));
  const exe = join(dir, name);
  await run(
    process.env.CXX ?? "g++",
    [
      "-std=c++17",
      "-O1",
      "-g",
      "-fno-omit-frame-pointer",
      "-fsanitize=address,undefined",
      "-fno-sanitize-recover=all",
      ...defines,
      `-I${join(root, "native/src")}`,
      ...sources,
      join(root, "test/native/rank-index-stress.cc"),
      "-o",
      exe,
    ],
    { maxBuffer: 16 << 20 },
  );
  return exe;
}

it("the C++ core agrees with an order-statistics model and is clean under ASan and UBSan", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-sanitizers-"));
  try {
    const exes = await Promise.all([
      build(dir, "stress", []),
      build(dir, "stress-baseline", ["-DCAIRN_NO_AVX2"]),
    ]);
    for (const exe of exes) {
      // 300 small rounds, 2 large ones (120,000 players grown, churned, round-tripped and emptied).
      const out = await run(exe, ["300", "2", "7"], { timeout: 120_000 }).catch(
        (err: { stdout?: string; stderr?: string; message: string }) => ({
          stdout: err.stdout ?? "",
          stderr: `${err.stderr ?? ""}\n${err.message}`,
        }),
      );
      expect(`${out.stdout}${out.stderr}`, exe).toBe("ok\n");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
