/**
 * Small real projects for the fingerprint tests: files written into a temporary directory (with a
 * tsconfig), analysed as `memopipe fingerprint` does, edited, analysed again.
 *
 * @example
 * const p = project({ "src/p.ts": `import { stage } from "memopipe"; export const a = stage("a", () => ({ x: 1 }));` });
 * const before = await p.analyse();
 * p.edit("src/p.ts", "x: 1", "x: 2");
 * expect(changed(before, await p.analyse())).toEqual({ a: ["stage function (src/p.ts)"] });
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fingerprintProject, type FingerprintFile } from "../../src/codegen/index.js";
import { tempDir } from "../helpers/temp.js";

export const TSCONFIG = {
  compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022"], types: [], strict: false, skipLibCheck: true, noEmit: true },
  include: ["src"],
};

/** A project in a temp dir. */
export interface TestProject {
  readonly dir: string;
  /** Writes (or replaces) a file, relative to the project. */
  write(file: string, text: string): void;
  /** Replaces `from` by `to` in a file (and fails when `from` is not there). */
  edit(file: string, from: string | RegExp, to: string): void;
  read(file: string): string;
  /** The analysis `memopipe fingerprint` makes (not written, not reused). */
  analyse(): Promise<FingerprintFile>;
}

export function project(files: Record<string, string>, prefix = "memopipe-fp-"): TestProject {
  const dir = tempDir(prefix);
  const write = (file: string, text: string) => {
    const abs = path.join(dir, file);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  };
  write("tsconfig.json", JSON.stringify(TSCONFIG, null, 2));
  for (const [file, text] of Object.entries(files)) write(file, text);
  return {
    dir,
    write,
    read: (file) => readFileSync(path.join(dir, file), "utf8"),
    edit(file, from, to) {
      const text = readFileSync(path.join(dir, file), "utf8");
      const next = text.replace(from, to);
      if (next === text) throw new Error(`edit: ${String(from)} not found in ${file}`);
      write(file, next);
    },
    analyse: () => fingerprintProject({ project: path.join(dir, "tsconfig.json"), write: false, reuse: false }),
  };
}

/** For each stage whose fingerprint differs, the labels of the parts that differ (stages added or removed: `["(added)"]` / `["(removed)"]`). */
export function changed(a: FingerprintFile, b: FingerprintFile): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of new Set([...Object.keys(a.stages), ...Object.keys(b.stages)])) {
    const sa = a.stages[name];
    const sb = b.stages[name];
    if (!sa || !sb) out[name] = [sa ? "(removed)" : "(added)"];
    else if (sa.fingerprint !== sb.fingerprint) {
      out[name] = [...new Set([...Object.keys(sa.parts), ...Object.keys(sb.parts)])].filter((l) => sa.parts[l] !== sb.parts[l]).sort();
    }
  }
  return out;
}
