/**
 * What `memopipe graph <module>[#export]` draws: the export of a user's module, imported as it is
 * (`.js`, `.mjs`, `.cjs`) or through tsx for TypeScript (`.ts`, `.mts`, `.cts`, `.tsx`; tsx is the
 * project's own: installed with `npm install -D tsx`).
 *
 * Which export: the one named after `#`; else the only export memopipe made (a pipe, a built
 * pipeline, a DAG, a stage); else `default`. An export that is a function of your own (a factory
 * such as `imagingPipeline(cacheDir)`) is called with no arguments and its result drawn.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { partOf } from "../runtime/graph/parts.js";
import { UsageError } from "./errors.js";

const TYPESCRIPT = /\.(?:c|m)?tsx?$/i;

/**
 * The value `<module>[#export]` names (after calling a factory), and what it was called.
 *
 * @example
 * const { value, name } = await loadExport("src/pipeline.ts#imaging");
 */
export async function loadExport(address: string): Promise<{ value: unknown; name: string }> {
  const hash = address.lastIndexOf("#");
  const file = hash > 0 ? address.slice(0, hash) : address;
  const wanted = hash > 0 ? address.slice(hash + 1) : undefined;
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new UsageError(`${file} does not exist`);
  if (TYPESCRIPT.test(abs)) await registerTsx(file);
  const mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  const names = Object.keys(mod).filter((k) => k !== "__esModule" && !(k === "default" && mod.default === mod));
  if (wanted !== undefined) {
    if (!(wanted in mod)) throw new UsageError(`${file} has no export '${wanted}' (its exports: ${names.join(", ") || "none"})`);
    return { value: await resolved(mod[wanted], `${file}#${wanted}`), name: wanted };
  }
  const made = names.filter((n) => partOf(mod[n]) !== undefined && n !== "default");
  if (made.length === 1) return { value: mod[made[0]!], name: made[0]! };
  if (made.length > 1) throw new UsageError(`${file} exports several pipelines (${made.join(", ")}): name one, e.g. ${file}#${made[0]}`);
  if ("default" in mod) return { value: await resolved(mod.default, `${file}#default`), name: "default" };
  const functions = names.filter((n) => typeof mod[n] === "function");
  if (functions.length === 1) return { value: await resolved(mod[functions[0]!], `${file}#${functions[0]}`), name: functions[0]! };
  throw new UsageError(`${file} exports no pipeline, DAG or stage (its exports: ${names.join(", ") || "none"}): name the one to draw, e.g. ${file}#myPipeline`);
}

/** The value itself when memopipe made it; else, for a function, what it returns when called with no arguments. */
async function resolved(value: unknown, what: string): Promise<unknown> {
  if (partOf(value) !== undefined || typeof value !== "function") return value;
  let made: unknown;
  try {
    made = await (value as () => unknown)();
  } catch (error) {
    throw new UsageError(`${what} is a function; called with no arguments to get the pipeline, it threw: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (partOf(made) === undefined) throw new UsageError(`${what} is neither a pipeline, a DAG nor a stage, nor a function returning one`);
  return made;
}

async function registerTsx(file: string): Promise<void> {
  // a specifier in a variable: the CLI bundle must not contain tsx (it is the user's)
  const specifier = "tsx/esm/api";
  let api: { register(): unknown };
  try {
    api = (await import(/* webpackIgnore: true */ specifier)) as typeof api;
  } catch {
    throw new UsageError(`${file} is TypeScript: install tsx to load it (npm install -D tsx), or give the compiled .js file`);
  }
  api.register();
}
