// The `cairn` command line: dispatches to one module per sub-command under bin/commands/.
import type { Command } from "./cli.ts";
import { RuntimeError, UsageError } from "./cli.ts";

const commands: Record<string, () => Promise<{ command: Command }>> = {
  demo: () => import("./commands/demo.ts"),
  serve: () => import("./commands/serve.ts"),
  replay: () => import("./commands/replay.ts"),
  top: () => import("./commands/top.ts"),
  rank: () => import("./commands/rank.ts"),
  watch: () => import("./commands/watch.ts"),
  bench: () => import("./commands/bench.ts"),
  publish: () => import("./commands/publish.ts"),
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
    if (err instanceof RuntimeError) {
      console.error(`cairn ${name}: ${err.message}`);
      console.error(`cairn ${name}: ${err.hint}`);
      return 1;
    }
    console.error(`cairn ${name}: ${(err as Error).stack ?? String(err)}`);
    console.error(`cairn ${name}: this is a bug or an unexpected failure; the message above says where`);
    return 1;
  }
}
