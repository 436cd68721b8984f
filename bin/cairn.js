#!/usr/bin/env -S node --max-semi-space-size=32
// Entry point of the `cairn` command: loads the TypeScript sources through tsx, then runs the CLI.
// The larger young generation (32 MB semi-spaces) halves the engine's GC pauses under load.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./cairn.ts");
process.exitCode = await main(process.argv.slice(2));
// A command has finished: whatever handle is still open (a connection reconnecting to a NATS that is
// gone, a socket) must not keep the process alive. The timer itself does not hold it open.
setTimeout(() => process.exit(), 2000).unref();
