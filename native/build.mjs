// Builds the native rank index at `npm install`; where no compiler exists the install still succeeds
// and the engine falls back to the pure-TS index with one warning at run time.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.env.CAIRN_SKIP_NATIVE === "1") {
  console.warn(
    "cairn: CAIRN_SKIP_NATIVE=1, not building the native rank index (the pure-TS index will be used)",
  );
  process.exit(0);
}
const gyp = process.platform === "win32" ? "node-gyp.cmd" : "node-gyp";
const result = spawnSync(gyp, ["rebuild"], { cwd: root, stdio: "inherit" });
if (result.status === 0 && existsSync(join(root, "build/Release/cairn_rank.node"))) {
  process.exit(0);
}
console.warn(
  "cairn: the native rank index did not build (no C++ toolchain?). Cairn still works with the pure-TS index.\n" +
    "cairn: to build it later, install python3, make and a C++17 compiler, then run `npm run build:native`.",
);
process.exit(0);
