/**
 * `memopipe init [dir]`: a starting point in a project: a stages file and a script that runs it
 * (the layout the README describes), `.memopipe/` in `.gitignore`, and the commands to run next.
 * Never overwrites a file unless `--force`.
 */
import type { Command } from "commander";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { requireDirectory, UsageError } from "./errors.js";
import { out } from "./style.js";
import { withExamples } from "./text.js";

const STAGES = `/**
 * The stages of this project (a starter written by \`memopipe init\`: make it yours). A stage takes
 * one object of named inputs and returns one of named outputs; with \`cache: true\` each result is
 * recorded in .memopipe/, so a run with the same inputs and the same code is a cache hit.
 */
import { dag, stage } from "memopipe";

/** The raw values (made up here; give a file as file(path) and its contents are hashed). */
export const load = stage("load", ({ n }: { n: number }) => ({ values: Array.from({ length: n }, (_, i) => i + 1) }), { cache: true });

/** Scales them; \`factor\` is fixed: part of the stage, not one of its inputs. */
export const scale = stage(
  "scale",
  ({ values, factor }: { values: number[]; factor: number }) => ({ scaled: values.map((v) => v * factor) }),
  { cache: true, fixed: { factor: 10 } },
);

/** Adds them up. */
export const total = stage("total", ({ scaled }: { scaled: number[] }) => ({ total: scaled.reduce((a, b) => a + b, 0) }), { cache: true });

/** load → scale → total: \`await pipeline.run({ n: 5 })\` gives \`{ total: 150 }\`. */
export const pipeline = dag().start(load).edge(load, scale).edge(scale, total);
`;

const RUN = `/** Runs the pipeline (written by \`memopipe init\`): \`npx tsx src/run.ts 5\`, then \`npx memopipe why\`. */
import { pipeline } from "./stages.js";

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 5);
  console.log(await pipeline.run({ n }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** Whether a .gitignore's lines already ignore the cache directory. */
const ignoresCache = (text: string) => text.split(/\r?\n/).some((l) => /^\/?\.memopipe\/?(\*\*?)?\s*$/.test(l.trim()));

/**
 * Adds `init` to the program.
 *
 * @example
 * addInit(new Command("memopipe"));
 */
export function addInit(program: Command): void {
  const init = program
    .command("init")
    .description("start a memopipe project here: a stages file, a script that runs it, .memopipe/ in .gitignore")
    .argument("[dir]", "the project directory", ".")
    .option("--force", "overwrite src/stages.ts and src/run.ts if they exist")
    .action((dir: string, opts: { force?: boolean }) => {
      requireDirectory(dir, `no directory ${dir}: create it first (mkdir -p ${dir})`);
      const files = [
        ["src/stages.ts", STAGES],
        ["src/run.ts", RUN],
      ] as const;
      const existing = files.map(([f]) => f).filter((f) => existsSync(path.join(dir, f)));
      if (existing.length > 0 && !opts.force) throw new UsageError(`${existing.join(" and ")} already ${existing.length === 1 ? "exists" : "exist"}: memopipe init leaves ${existing.length === 1 ? "it" : "them"} alone (add --force to overwrite)`);
      mkdirSync(path.join(dir, "src"), { recursive: true });
      for (const [file, text] of files) {
        writeFileSync(path.join(dir, file), text);
        console.log(`${out.green("wrote")} ${file}`);
      }
      const gitignore = path.join(dir, ".gitignore");
      const current = existsSync(gitignore) ? readFileSync(gitignore, "utf8") : undefined;
      if (current !== undefined && ignoresCache(current)) console.log(".gitignore ignores .memopipe/ already");
      else {
        writeFileSync(gitignore, `${current === undefined || current === "" || current.endsWith("\n") ? current ?? "" : `${current}\n`}.memopipe/\n`);
        console.log(`${out.green(current === undefined ? "wrote" : "added")} .memopipe/ ${current === undefined ? "to a new" : "to"} .gitignore`);
      }
      const next: [string, string][] = [];
      const cd = path.resolve(dir) === process.cwd() ? "" : `cd ${dir} && `;
      if (!existsSync(path.join(dir, "package.json"))) next.push(["npm init -y", "a package.json for the project"]);
      if (!existsSync(path.join(dir, "node_modules", "memopipe"))) next.push(["npm install memopipe && npm install -D tsx typescript", "the library, and tsx to run TypeScript"]);
      if (!existsSync(path.join(dir, "tsconfig.json"))) next.push(["npx tsc --init", "a tsconfig.json (memopipe fingerprint reads the project through it)"]);
      next.push(
        ["npx tsx src/run.ts", "run the pipeline; run it again: every stage is a cache hit"],
        ["npx memopipe why", "what the last run did, and why"],
        ["npx memopipe fingerprint", "hash each stage with the code it calls (commit memopipe.fingerprints.json)"],
      );
      const width = Math.max(...next.map(([c]) => c.length + cd.length));
      console.log("\nnext:");
      for (const [command, what] of next) console.log(`  ${out.bold(`${cd}${command}`.padEnd(width))}   ${what}`);
    });
  withExamples(init, [
    ["memopipe init", "in the current directory"],
    ["memopipe init my-project", "in ./my-project (it must exist)"],
    ["memopipe init --force", "rewrite the starter files"],
  ]);
}
