/**
 * What a user sees in the editor, through TypeScript's language service (the same service VS Code
 * uses): the hover over a built pipeline, and the completions inside `.ingestAfter("`.
 */
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");
const file = path.join(root, "test", "__editor_fixture__.ts");

/** A language service over one in-memory file that imports the library's source. */
function service(text: string): ts.LanguageService {
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
    skipLibCheck: true,
  };
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => [file],
    getScriptVersion: () => "1",
    getScriptSnapshot: (name) => {
      const content = name === file ? text : ts.sys.readFile(name);
      return content === undefined ? undefined : ts.ScriptSnapshot.fromString(content);
    },
    getCurrentDirectory: () => root,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (name) => name === file || ts.sys.fileExists(name),
    readFile: (name) => (name === file ? text : ts.sys.readFile(name)),
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

/** Splits a fixture at its `|` cursor marker. */
function withCursor(source: string): { text: string; position: number } {
  const position = source.indexOf("|");
  return { text: source.slice(0, position) + source.slice(position + 1), position };
}

function hover(source: string): string {
  const { text, position } = withCursor(source);
  const ls = service(text);
  const diagnostics = ls.getSemanticDiagnostics(file).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  expect(diagnostics).toEqual([]);
  const info = ls.getQuickInfoAtPosition(file, position);
  return ts.displayPartsToString(info?.displayParts);
}

function completions(source: string): string[] {
  const { text, position } = withCursor(source);
  const entries = service(text).getCompletionsAtPosition(file, position, {})?.entries ?? [];
  return entries.map((e) => e.name).sort();
}

const header = `import { pipe } from "../src/index.js";\n`;

describe("hover", () => {
  it("shows a built pipeline as a plain function type", () => {
    const shown = hover(
      `${header}const r|un = pipe<number>()
        .step((x) => x * 2).store("doubled")
        .step((x) => String(x))
        .step((s: string, d: number) => s + d).ingestAfter("doubled")
        .build();`,
    );
    expect(shown).toBe("const run: (input: number) => string");
  });

  it("shows Promise exactly when a step is async", () => {
    expect(hover(`${header}const r|un = pipe<number>().step(async (x) => x * 2).step((x) => String(x)).build();`)).toBe(
      "const run: (input: number) => Promise<string>",
    );
  });

  it("shows the input inferred by pipe() without a type argument", () => {
    expect(hover(`${header}const r|un = pipe().step((s: string) => s.length).build();`)).toBe("const run: (input: string) => number");
  });

  it("shows no builder internals in .run()'s result", () => {
    expect(hover(`${header}const r|esult = pipe<number>().fork((x) => x, (x) => \`\${x}\`).run(1);`)).toBe(
      "const result: readonly [number, string]",
    );
  });
});

describe("hover over an unfinished builder", () => {
  it("reads as input, current value, memory, mode, stored keys and the last step", () => {
    const shown = [
      hover(`${header}const b|1 = pipe<number>();`),
      hover(`${header}const b|2 = pipe<number>().step((x) => x * 2).store("doubled");`),
      hover(`${header}const b|3 = pipe<number>().step((x) => x * 2).store("doubled").step((x) => String(x));`),
      hover(`${header}const b|4 = pipe<number>().store("input").step((x) => x * 2).store("doubled").step(async (s: number, d: number) => s + d).ingestAfter("doubled");`),
      hover(`${header}const b|5 = pipe<number>().fork((x) => x, (x) => \`\${x}\`);`),
    ];
    expect(shown).toEqual([
      'const b1: PipeBuilder<number, number, EmptyMemory, "sync", "", NoStep>',
      'const b2: PipeBuilder<number, number, {\n    readonly doubled: number;\n}, "sync", "\'doubled\'", NoStep>',
      'const b3: PipeBuilder<number, string, {\n    readonly doubled: number;\n}, "sync", "\'doubled\'", Step<[x: number], number, true>>',
      'const b4: PipeBuilder<number, number, {\n    readonly input: number;\n} & {\n    readonly doubled: number;\n}, "async", "\'input\', \'doubled\'", LastStep<[s: number, d: number], number, [], [number], [], ["doubled"], true>>',
      'const b5: PipeBuilder<number, readonly [number, string], EmptyMemory, "sync", "", CombinatorStep<number, "fork(...) only combines its branches">>',
    ]);
  });
});

describe("completion inside .ingestAfter(\" and .ingestBefore(\"", () => {
  it("offers exactly the keys stored so far", () => {
    const names = completions(
      `${header}pipe<number>()
        .store("input")
        .step((x) => x * 2).store("doubled")
        .step((x: number, y: number) => x + y).ingestAfter("|")
        .store("later");`,
    );
    expect(names).toEqual(["doubled", "input"]);
  });

  it("offers the same keys to ingestBefore, and narrows with a typed prefix", () => {
    const names = completions(
      `${header}pipe<number>()
        .store("alpha").store("beta")
        .step((a: number, x: number) => a + x).ingestBefore("al|")`,
    );
    expect(names).toEqual(["alpha", "beta"]); // the editor filters by the prefix; the list is the stored keys
  });

  it("offers nothing when nothing was stored (and never the error message)", () => {
    expect(completions(`${header}pipe<number>().step((x: number, y: number) => x + y).ingestAfter("|")`)).toEqual([]);
  });

  it("does not offer keys stored in a sub-pipeline", () => {
    const names = completions(
      `${header}const sub = pipe<number>().store("inner").step((x) => x).build();
      pipe<number>().store("outer").step(sub).step((x: number, y: number) => x + y).ingestAfter("|")`,
    );
    expect(names).toEqual(["outer"]);
  });
});
