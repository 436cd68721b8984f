// The `cairn` command line: dispatches to one module per sub-command under bin/commands/.
import type { Command } from "./cli.ts";
import { natsFailure, UsageError } from "./cli.ts";

const commands: Record<string, () => Promise<{ command: Command }>> = {
  demo: () => import("./commands/demo.ts"),
  serve: () => import("./commands/serve.ts"),
  replay: () => import("./commands/replay.ts"),
  audit: () => import("./commands/audit.ts"),
  top: () => import("./commands/top.ts"),
  rank: () => import("./commands/rank.ts"),
  watch: () => import("./commands/watch.ts"),
  bench: () => import("./commands/bench.ts"),
  publish: () => import("./commands/publish.ts"),
  keygen: () => import("./commands/keygen.ts"),
  export: () => import("./commands/export.ts"),
  verify: () => import("./commands/verify.ts"),
};

async function help(): Promise<string> {
  const lines = ["usage: cairn <command> [flags]", "", "commands:"];
  for (const [name, load] of Object.entries(commands)) {
    lines.push(`  ${name.padEnd(9)} ${(await load()).command.summary}`);
  }
  lines.push("", "`cairn <command> --help` shows a command's flags.");
  return lines.join("\n");
}

/** Runs the CLI with the given arguments; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(await help());
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`cairn: unknown command "${name}"`);
    console.error(`cairn: run \`cairn --help\` to see the commands (${Object.keys(commands).join(", ")})`);
    return 2;
  }
  const { command } = await load();
  // `cairn bench <name> --help` is the benchmark's own help, so bench sees its --help after a name.
  const wantsHelp =
    name === "bench"
      ? ["--help", "-h"].includes(rest[0] ?? "")
      : rest.includes("--help") || rest.includes("-h");
  if (wantsHelp) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`cairn ${name}: ${err.message}`);
      console.error(`cairn ${name}: ${err.hint}`);
      return 2;
    }
    const failure = natsFailure(err);
    if (failure) {
      console.error(`cairn ${name}: ${failure.message}`);
      console.error(`cairn ${name}: ${failure.hint}`);
      return 1;
    }
    // Still two lines: the stack is for whoever fixes it, on request.
    const e = err instanceof Error ? err : new Error(String(err));
    console.error(`cairn ${name}: unexpected failure: ${e.name}: ${e.message.split("\n")[0]}`);
    if (process.env.CAIRN_DEBUG) console.error(e.stack);
    console.error(
      `cairn ${name}: ${process.env.CAIRN_DEBUG ? "this is a bug: please report it with the stack above" : "run again with CAIRN_DEBUG=1 to see where it failed, and report it as a bug"}`,
    );
    return 1;
  }
}
