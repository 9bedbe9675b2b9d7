/**
 * Optional packages (src/runtime/optional-package.ts): what "not installed" becomes, what is left
 * alone, and that the ranges the messages name are package.json's. The real thing (a fresh project
 * without Vega or ts-morph) is checked by `npm run test:package` (scripts/check-package.mjs).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MemopipeError, MissingPackageError } from "../src/index.js";
import { importOptional, OPTIONAL_PACKAGES } from "../src/runtime/optional-package.js";

const notFound = (code: string, message: string) => Object.assign(new Error(message), { code });

describe("importOptional", () => {
  it("imports an installed package by name", async () => {
    const vega = await importOptional<typeof import("vega")>("plot", "vega");
    expect(typeof vega.View).toBe("function");
  });

  it("turns ESM's 'Cannot find package' into one line naming the packages, the feature and the command", async () => {
    const cause = notFound("ERR_MODULE_NOT_FOUND", "Cannot find package 'vega-lite' imported from /app/node_modules/memopipe/dist/index.js");
    const error = await importOptional("plot", () => Promise.reject(cause)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingPackageError);
    expect(error).toBeInstanceOf(MemopipeError);
    expect(error).toMatchObject({
      code: "MEMOPIPE_MISSING_PACKAGE",
      packageName: "vega-lite",
      feature: "plot",
      install: "npm install vega@~6.4.0 vega-lite@~6.4.0",
      cause,
      message: "install vega and vega-lite to use plots (memopipe plot, renderSvg, plotFile): npm install vega@~6.4.0 vega-lite@~6.4.0",
    });
    expect((error as Error).message).not.toContain("\n");
  });

  it("does the same for CommonJS's 'Cannot find module', and for a package that one of memopipe's own modules imports", async () => {
    const cause = notFound("MODULE_NOT_FOUND", "Cannot find module 'ts-morph'\nRequire stack:\n- /app/dist/codegen.cjs");
    await expect(importOptional("fingerprint", () => Promise.reject(cause))).rejects.toThrow(
      "install ts-morph to use code fingerprints (memopipe fingerprint): npm install ts-morph@^28.0.0",
    );
  });

  it("leaves other failures alone: a module missing inside an installed package, another package, any other error", async () => {
    const inside = notFound("ERR_MODULE_NOT_FOUND", "Cannot find module '/app/node_modules/vega/build/vega-node.js' imported from /app/x.js");
    const other = notFound("ERR_MODULE_NOT_FOUND", "Cannot find package 'd3-array' imported from /app/node_modules/vega/build/vega-node.js");
    const broken = new SyntaxError("Unexpected token");
    for (const cause of [inside, other, broken]) {
      await expect(importOptional("plot", () => Promise.reject(cause))).rejects.toBe(cause);
    }
  });

  it("names the version ranges that package.json declares (peer or optional dependency)", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
      optionalDependencies: Record<string, string>;
    };
    for (const { packages } of Object.values(OPTIONAL_PACKAGES)) {
      for (const [name, range] of Object.entries(packages)) {
        const declared = pkg.peerDependencies[name] ?? pkg.optionalDependencies[name];
        expect(declared, name).toBe(range);
        if (name in pkg.peerDependencies) expect(pkg.peerDependenciesMeta[name]?.optional, `${name} is an optional peer`).toBe(true);
      }
    }
  });
});
