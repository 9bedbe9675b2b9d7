#!/usr/bin/env node
/**
 * The type tests, on every TypeScript the project supports:
 *
 * 1. tsd (its bundled TypeScript 5.9) runs `type-tests/*.test-d.ts`: `expectType` is an exact
 *    identity check there.
 * 2. TypeScript 5.9, 6 (JS) and 7 (native) each compile `type-tests/` with no error. Every misuse
 *    is written `// @ts-expect-error <fragment>` on the line before the offending call, so a
 *    misuse that compiles is an error ("Unused '@ts-expect-error' directive") on every version.
 * 3. tsd and `@ts-expect-error` accept *any* error. So each compiler also checks a copy of the
 *    tests with the directives blanked out: every directive's next line must carry an error whose
 *    message contains the fragment (the message is part of the contract, and so is the line: the
 *    error must be on the offending call), that line has no second error, no other line may have
 *    an error, and no message may show the builder's internal types.
 *
 * Exits non-zero on the first compiler that disagrees. Run from the repository root after
 * `npm run build` (the tests import the built package, as users do).
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = process.cwd();
const testsDir = path.join(root, "type-tests");
const compilers = [
  { name: "TypeScript 5.9 (tsd's)", tsc: "node_modules/@tsd/typescript/typescript/bin/tsc" },
  { name: "TypeScript 6 (JS)", tsc: "node_modules/typescript/bin/tsc" },
  { name: "TypeScript 7 (native)", tsc: "node_modules/tsc7/bin/tsc" },
];
const internals = ["PipeBuilder<", "IncompletePipe<", "StepInfo<", "PipeIngest<", "KeySlot<", "ErrorParams<", "StepParams<", "SpreadParams<", "Assess<", "IssueText<", "InferInput"];
const directive = /^(\s*)\/\/ @ts-expect-error(?:\s+(.*))?$/;

let failed = false;
const fail = (message) => {
  console.error(`  ✖ ${message}`);
  failed = true;
};

// 1. tsd
console.log("tsd (TypeScript 5.9): type-tests/*.test-d.ts");
// Explicit typings and files: with a `.d.cts` "types" entry, a bare `tsd` finds no test file and passes.
const tsd = spawnSync("node", ["node_modules/tsd/dist/cli.js", "--typings", "dist/index.d.ts", "--files", "type-tests/*.test-d.ts"], {
  cwd: root,
  encoding: "utf8",
});
if (tsd.status !== 0) fail(`tsd failed:\n${tsd.stdout}${tsd.stderr}`);
else console.log("  ✓ tsd passed");

// The directives, from the sources.
const sources = fs.readdirSync(testsDir).filter((f) => f.endsWith(".ts"));
const expectations = [];
for (const file of sources) {
  fs.readFileSync(path.join(testsDir, file), "utf8")
    .split("\n")
    .forEach((line, i) => {
      const m = directive.exec(line);
      if (m) {
        if (!m[2]?.trim()) fail(`${file}:${i + 1}: @ts-expect-error without a message fragment`);
        expectations.push({ file, line: i + 2, fragment: m[2]?.trim() ?? "" });
      }
    });
}

// The copy without directives, inside the repository so that `memopipe` resolves as it does for the tests.
const expanded = path.join(root, "node_modules", ".cache", "memopipe-type-tests");
fs.rmSync(expanded, { recursive: true, force: true });
fs.mkdirSync(expanded, { recursive: true });
for (const file of fs.readdirSync(testsDir)) {
  const text = fs.readFileSync(path.join(testsDir, file), "utf8");
  const out = file.endsWith(".ts") ? text.split("\n").map((l) => (directive.test(l) ? l.replace(directive, "$1//") : l)).join("\n") : text;
  fs.writeFileSync(path.join(expanded, file), out);
}

/** Runs a compiler on a project; returns its diagnostics with their full (multi-line) text. */
function compile(tsc, project) {
  const run = spawnSync("node", [tsc, "-p", project, "--pretty", "false"], { cwd: root, encoding: "utf8" });
  const diagnostics = [];
  for (const line of `${run.stdout}${run.stderr}`.split("\n")) {
    const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    if (m) diagnostics.push({ file: path.basename(m[1]), line: Number(m[2]), column: Number(m[3]), code: m[4], text: m[5] });
    else if (line.startsWith(" ") && diagnostics.length > 0) diagnostics.at(-1).text += `\n${line.trim()}`;
    else if (line.trim()) diagnostics.push({ file: "?", line: 0, column: 0, code: "?", text: line });
  }
  return { status: run.status, diagnostics };
}

for (const { name, tsc } of compilers) {
  const version = execFileSync("node", [tsc, "--version"], { encoding: "utf8" }).trim();
  console.log(`${name}: ${version}`);
  // 2. the tests as written compile cleanly
  const clean = compile(tsc, "type-tests");
  if (clean.status !== 0 || clean.diagnostics.length > 0) {
    for (const d of clean.diagnostics) fail(`${d.file}:${d.line}:${d.column} ${d.code} ${d.text}`);
    continue;
  }
  console.log(`  ✓ type-tests compile, every @ts-expect-error is used`);
  // 3. each expected error is on its line, with its message
  const { diagnostics } = compile(tsc, expanded);
  let matched = 0;
  for (const e of expectations) {
    const here = diagnostics.filter((d) => d.file === e.file && d.line === e.line);
    const hit = here.find((d) => d.text.includes(e.fragment));
    if (!hit) {
      fail(
        `${e.file}:${e.line}: expected an error containing "${e.fragment}"; ${
          here.length === 0 ? "there is no error on that line" : `got: ${here.map((d) => d.text).join(" | ")}`
        }`,
      );
      continue;
    }
    // one mistake, one error: a second one on the line (TS7006 "implicitly has an 'any' type" on
    // the lambda of a call that is already wrong, say) is noise caused by the first
    const others = here.filter((d) => d !== hit);
    if (others.length > 0) fail(`${e.file}:${e.line}: a second error beside the expected one: ${others.map((d) => `${d.code} ${d.text}`).join(" | ")}`);
    const leak = internals.find((t) => hit.text.includes(t));
    if (leak) fail(`${e.file}:${e.line}: the message shows builder internals (${leak}): ${hit.text}`);
    matched++;
  }
  const stray = diagnostics.filter((d) => !expectations.some((e) => e.file === d.file && e.line === d.line));
  for (const d of stray) fail(`${d.file}:${d.line}:${d.column}: unexpected error ${d.code}: ${d.text}`);
  console.log(`  ${matched === expectations.length && stray.length === 0 ? "✓" : "✖"} ${matched}/${expectations.length} expected errors on their line with their message`);
}

if (failed) {
  console.error("type tests failed");
  process.exit(1);
}
console.log("type tests passed on TypeScript 5.9, 6 and 7");
