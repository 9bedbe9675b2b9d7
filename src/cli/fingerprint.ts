/**
 * `memopipe fingerprint [--check]`: hash every stage with the project code it uses (ts-morph),
 * into the file the runtime reads.
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { importOptional } from "../runtime/optional-package.js";
import { UsageError } from "./errors.js";
import { err, out } from "./style.js";
import { count, withExamples } from "./text.js";

/**
 * Adds `fingerprint` to the program.
 *
 * @example
 * addFingerprint(new Command("memopipe"));
 */
export function addFingerprint(program: Command): void {
  const fingerprint = program
    .command("fingerprint")
    .description("hash every stage with the project code it uses (ts-morph) into memopipe.fingerprints.json")
    .option("--check", "do not write: exit 1 when memopipe.fingerprints.json is missing or stale")
    .option("--project <tsconfig>", "the project's tsconfig.json (or its directory)", "tsconfig.json")
    .option("--out <file>", "where the fingerprints go (default: memopipe.fingerprints.json next to the tsconfig)")
    .option("--no-reuse", "analyse even when no file changed since the last run")
    .action(async (opts: { check?: boolean; project: string; out?: string; reuse: boolean }) => {
      if (!existsSync(opts.project)) {
        throw new UsageError(`no ${opts.project}: give the project's tsconfig.json with --project (or create one: npx tsc --init)`);
      }
      // loaded here only: ts-morph brings TypeScript, which the other commands (and the library) never need;
      // it is an optional dependency, so without it one line says how to install it
      const { fingerprintProject, checkFingerprints } = await importOptional("fingerprint", () => import("../codegen/index.js"));
      const options = { project: opts.project, reuse: opts.reuse, ...(opts.out !== undefined ? { out: opts.out } : {}) };
      const printWarnings = (warnings: readonly string[]) => {
        for (const w of warnings) console.error(err.yellow(`warning: ${w}`));
      };
      if (opts.check) {
        const check = await checkFingerprints(options);
        printWarnings(check.current.warnings);
        if (check.ok) {
          console.log(out.green(`${check.file}: up to date (${count(Object.keys(check.current.stages).length, "stage")})`));
          return;
        }
        if (check.missing) console.error(err.red(`${check.file} is missing: run memopipe fingerprint`));
        else {
          console.error(err.red(`${check.file} is stale: run memopipe fingerprint`));
          for (const s of check.stale) console.error(`  ${s.stage}: ${s.reasons.join(", ")}`);
        }
        process.exitCode = 1;
        return;
      }
      const data = await fingerprintProject(options);
      printWarnings(data.warnings);
      console.log(`${count(Object.keys(data.stages).length, "stage")} fingerprinted`);
    });
  withExamples(fingerprint, [
    ["memopipe fingerprint", "write memopipe.fingerprints.json for ./tsconfig.json"],
    ["memopipe fingerprint --check", "in CI: exit 1 when the file is missing or stale"],
    ["memopipe fingerprint --project packages/etl", "another project (its tsconfig.json)"],
  ]);
}
