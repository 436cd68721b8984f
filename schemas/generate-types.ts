// Generates schemas/types.ts from the JSON Schema files with json-schema-to-typescript, so types are never written twice.
// Run: npx tsx schemas/generate-types.ts [--check]  (--check exits 1 when types.ts is out of date).
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";

const here = dirname(fileURLToPath(import.meta.url));

/** Every schema file, by the type name it generates (in output order). */
const schemaFiles: ReadonlyArray<readonly [name: string, file: string]> = [
  ["CloudEvent", "cloudevent.json"],
  ["HuntCreatedData", "events/hunt-created.json"],
  ["HuntStartedData", "events/hunt-started.json"],
  ["HuntPausedData", "events/hunt-paused.json"],
  ["HuntResumedData", "events/hunt-resumed.json"],
  ["HuntEndedData", "events/hunt-ended.json"],
  ["PlayerJoinedData", "events/player-joined.json"],
  ["PlayerLeftData", "events/player-left.json"],
  ["TreasureFoundData", "events/treasure-found.json"],
  ["HintTakenData", "events/hint-taken.json"],
  ["HuntFinalizedData", "events/hunt-finalized.json"],
  ["PlayerDisqualifiedData", "events/player-disqualified.json"],
  ["ScoreAdjustedData", "events/score-adjusted.json"],
  ["SubmissionMadeData", "events/submission-made.json"],
  ["SubmissionReviewedData", "events/submission-reviewed.json"],
  ["StandingsFrozenData", "events/standings-frozen.json"],
  ["StandingsRevealedData", "events/standings-revealed.json"],
  ["TeamCreatedData", "events/team-created.json"],
  ["RankChange", "outputs/rank-change.json"],
  ["TeamRankChange", "outputs/team-rank-change.json"],
  ["Rejection", "outputs/rejection.json"],
  ["Checkpoint", "outputs/checkpoint.json"],
  ["TopN", "outputs/top.json"],
  ["TeamsTopN", "outputs/teams-top.json"],
  ["TopRequest", "queries/top-request.json"],
  ["TopReply", "queries/top-reply.json"],
  ["RankRequest", "queries/rank-request.json"],
  ["RankReply", "queries/rank-reply.json"],
  ["AroundRequest", "queries/around-request.json"],
  ["AroundReply", "queries/around-reply.json"],
  ["LedgerRequest", "queries/ledger-request.json"],
  ["LedgerReply", "queries/ledger-reply.json"],
  ["StateRequest", "queries/state-request.json"],
  ["StateReply", "queries/state-reply.json"],
  ["PublicStateReply", "queries/public-state-reply.json"],
  ["ErrorReply", "queries/error-reply.json"],
];

const banner = `// GENERATED FILE, do not edit: produced by \`npx tsx schemas/generate-types.ts\` from the JSON Schema
// files in schemas/ (the source of truth). Change a schema, then re-run the script.
/* eslint-disable */`;

/** Builds the text of schemas/types.ts. */
export async function generateTypes(): Promise<string> {
  // One root schema whose $defs point at every file, so shared definitions (LeaderboardEntry, ...) are declared once.
  // References into common.json become local references to the root's $defs.
  const common = JSON.parse(await readFile(join(here, "common.json"), "utf8")) as {
    $defs: Record<string, unknown>;
  };
  const $defs: Record<string, unknown> = { ...common.$defs };
  for (const [name, file] of schemaFiles) {
    const schema = JSON.parse(await readFile(join(here, file), "utf8")) as Record<string, unknown>;
    delete schema.$id;
    delete schema.$schema;
    $defs[name] = localiseRefs({ ...schema, title: name });
  }
  const root = { title: "CairnSchemas", type: "object", additionalProperties: false, properties: {}, $defs };
  const text = await compile(root as never, "CairnSchemas", {
    bannerComment: banner,
    cwd: here,
    unreachableDefinitions: true,
    additionalProperties: false,
    strictIndexSignatures: true,
    ignoreMinAndMaxItems: true,
    format: true,
    style: { printWidth: 110, semi: true, singleQuote: false, trailingComma: "all" },
  });
  return text;
}

/** References into common.json, or to a whole schema file of the list, become local references. */
function localiseRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(localiseRefs);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === "$ref" && typeof v === "string" ? localRef(v) : localiseRefs(v);
  }
  return out;
}

function localRef(ref: string): string {
  const file = schemaFiles.find(([, f]) => ref.replace(/^\.\.\//, "").replace(/^\.\//, "") === f);
  return file ? `#/$defs/${file[0]}` : ref.replace(/^(\.\.\/)?common\.json#/, "#");
}

const outFile = join(here, "types.ts");

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await generateTypes();
  if (process.argv.includes("--check")) {
    const current = await readFile(outFile, "utf8").catch(() => "");
    if (current !== text) {
      console.error("schemas/types.ts is out of date: run npx tsx schemas/generate-types.ts");
      process.exit(1);
    }
    console.log("schemas/types.ts is up to date");
  } else {
    await writeFile(outFile, text);
    console.log(`wrote ${outFile}`);
  }
}
