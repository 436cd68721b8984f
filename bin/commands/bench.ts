// `cairn bench <name>`: runs one benchmark from bench/, or `smoke` to run each at tiny sizes.
import type { Command } from "../cli.ts";
import { parseFlags, UsageError } from "../cli.ts";

/** A benchmark module in bench/: `run(argv)` resolves to an exit code; `--smoke` means tiny sizes. */
interface Benchmark {
  /** Its flags, shown by `cairn bench <name> --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

const benchmarks: Record<string, () => Promise<Benchmark>> = {
  index: () => import("../../bench/index.ts"),
  consume: () => import("../../bench/consume.ts"),
  e2e: () => import("../../bench/e2e.ts"),
  replay: () => import("../../bench/replay.ts"),
  ledger: () => import("../../bench/ledger.ts"),
  soak: () => import("../../bench/soak.ts"),
  hunts: () => import("../../bench/hunts.ts"),
  viewer: () => import("../../bench/viewer.ts"),
  huge: () => import("../../bench/huge.ts"),
};

const SMOKE_USAGE = [
  "usage: cairn bench smoke",
  "",
  `Runs every benchmark (${Object.keys(benchmarks).join(", ")}) with --smoke: tiny sizes, to check each`,
  "still runs (what CI does). Takes no flags; exits 1 if any benchmark failed.",
].join("\n");

export const command: Command = {
  summary:
    "run a benchmark (index, consume, e2e, replay, ledger, soak, hunts, viewer, huge) or `smoke` to check each still runs",
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
    const wantsHelp = rest.includes("--help") || rest.includes("-h");
    if (name === "smoke") {
      if (wantsHelp) {
        console.log(SMOKE_USAGE);
        return 0;
      }
      parseFlags("bench smoke", rest, {});
      let failed = 0;
      for (const [bench, load] of Object.entries(benchmarks)) {
        console.log(`--- bench ${bench} --smoke`);
        const code = await (await load()).run(["--smoke"]);
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
        name === undefined ? "name the benchmark to run" : `unknown benchmark "${name}"`,
        `choose one of: ${Object.keys(benchmarks).join(", ")}, smoke`,
      );
    }
    const benchmark = await load();
    if (wantsHelp) {
      console.log(benchmark.usage);
      return 0;
    }
    return benchmark.run(rest);
  },
};
