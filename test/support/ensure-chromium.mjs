// Makes sure Chromium exists after `npm install` when the viewer's browser tests can run (playwright-core,
// a dev dependency, is installed): installs Debian's package when running as root on Debian/Ubuntu,
// otherwise prints the one command to run. Production installs (no dev dependencies) skip it.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const bin = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
function found() {
  try {
    accessSync(bin, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

try {
  createRequire(import.meta.url).resolve("playwright-core");
} catch {
  process.exit(0); // no dev dependencies: nothing here drives a browser
}
if (found()) process.exit(0);
const osRelease = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
const debianLike = /^(ID|ID_LIKE)=.*(debian|ubuntu)/m.test(osRelease);
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
if (debianLike && isRoot && process.env.CAIRN_SKIP_SYSTEM_INSTALL !== "1") {
  console.log(
    "cairn: chromium not found; installing Debian's chromium package for the viewer's browser tests",
  );
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  const r = spawnSync("apt-get", ["install", "-y", "-q", "chromium"], { stdio: "inherit", env });
  if (r.status === 0 && found()) process.exit(0);
}
console.warn(
  `cairn: Chromium was not found at ${bin}; the viewer's browser tests and \`cairn bench viewer\` need it.\n` +
    (debianLike
      ? "cairn: install it with: sudo apt-get install -y chromium\n"
      : "cairn: install Chromium and set CHROMIUM_BIN to its path\n"),
);
