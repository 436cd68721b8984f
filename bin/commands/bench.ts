// `cairn bench <name>`: runs one benchmark from bench/, or `smoke` to run each at tiny sizes.
import type { Command } from "../cli.ts";
import { UsageError } from "../cli.ts";

/** A benchmark module in bench/: `run(argv)` resolves to an exit code; `--smoke` means tiny sizes. */
interface Benchmark {
  run(argv: string[]): Promise<number>;
}

const benchmarks: Record<string, () => Promise<Benchmark>> = {
  index: () => import("../../bench/index.ts"),
  consume: () => import("../../bench/consume.ts"),
  e2e: () => import("../../bench/e2e.ts"),
  replay: () => import("../../bench/replay.ts"),
  soak: () => import("../../bench/soak.ts"),
};

export const command: Command = {
  summary: "run a benchmark (index, e2e, replay, soak) or `smoke` to check each still runs",
  usage: [
    "usage: cairn bench <name> [flags]",
    "",
    `benchmarks: ${Object.keys(benchmarks).join(", ")}`,
    "  smoke      run every benchmark at tiny sizes (what CI does)",
    "",
    "`cairn bench <name> --help` shows a benchmark's flags.",
  ].join("\n"),
  async run(argv) {
    const [name, ...rest] = argv;
    if (name === "smoke") {
      let failed = 0;
      for (const [bench, load] of Object.entries(benchmarks)) {
        console.log(`--- bench ${bench} --smoke`);
        const code = await (await load()).run(["--smoke", ...rest]);
        if (code !== 0) {
          console.error(`bench ${bench} exited with ${code}`);
          failed++;
        }
      }
      return failed === 0 ? 0 : 1;
    }
    const load = name === undefined ? undefined : benchmarks[name];
    if (!load) {
      throw new UsageError(
        `unknown benchmark "${name ?? ""}"`,
        `choose one of: ${Object.keys(benchmarks).join(", ")}, smoke`,
      );
    }
    return (await load()).run(rest);
  },
};
