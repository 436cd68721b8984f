// Makes sure a nats-server binary exists after `npm install`, so that `npm start` and `npm test` work
// on a fresh machine: installs Debian's package when running as root on Debian/Ubuntu, otherwise
// prints the one command to run.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";

function findNatsServer() {
  const candidates = [];
  if (process.env.NATS_SERVER_BIN) candidates.push(process.env.NATS_SERVER_BIN);
  for (const dir of (process.env.PATH ?? "").split(delimiter))
    if (dir) candidates.push(join(dir, "nats-server"));
  candidates.push("/usr/sbin/nats-server", "/usr/local/bin/nats-server");
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  return undefined;
}

if (findNatsServer()) process.exit(0);
const osRelease = existsSync("/etc/os-release") ? readFileSync("/etc/os-release", "utf8") : "";
const debianLike = /^(ID|ID_LIKE)=.*(debian|ubuntu)/m.test(osRelease);
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
if (debianLike && isRoot && process.env.CAIRN_SKIP_SYSTEM_INSTALL !== "1") {
  console.log(
    "cairn: nats-server not found; installing Debian's nats-server package (apt-get install nats-server)",
  );
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  const r = spawnSync("apt-get", ["install", "-y", "-q", "nats-server"], { stdio: "inherit", env });
  if (r.status === 0 && findNatsServer()) process.exit(0);
}
console.warn(
  "cairn: nats-server was not found (looked at NATS_SERVER_BIN, PATH and /usr/sbin).\n" +
    (debianLike
      ? "cairn: install it with: sudo apt-get install nats-server\n"
      : "cairn: install it from https://github.com/nats-io/nats-server/releases and put it on PATH, or set NATS_SERVER_BIN\n") +
    "cairn: `cairn serve --nats URL` can also use a NATS server you already run.",
);
