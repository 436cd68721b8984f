// Child process for the embedded-nats kill -9 test: starts a server, prints its pid, then idles until killed.
import { startEmbeddedNats } from "../../streams/index.ts";

const server = await startEmbeddedNats({ storeDir: process.argv[2] });
process.stdout.write(`${JSON.stringify({ pid: server.pid, url: server.url })}\n`);
setInterval(() => {}, 1 << 30);
