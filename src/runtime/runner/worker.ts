/**
 * The worker-thread entry of the Runner's `threads` backend: piscina loads this file in every
 * worker and calls its default export once per point.
 *
 * It is generic: a request names a module (a `file:` URL) and an export; the module is imported
 * once per worker and the export called with the point. Only plain data crosses the thread
 * boundary (the point in; the result, or the error's name and message, out), never a function.
 *
 * A TypeScript module (`.ts`, `.mts`, `.cts`, `.tsx`) needs a loader. `node --import tsx` in a
 * worker's `execArgv` does not install tsx's ESM hooks inside worker threads on Node 20, so when
 * the import fails with "unknown file extension" the worker registers tsx itself
 * (`tsx/esm/api`'s `register()`, resolved from the task module's own directory, then from the
 * working directory) and imports again. Built JavaScript needs none of this.
 *
 * This file must stay free of imports from the rest of memopipe: in the package it is its own
 * bundle entry (`dist/runner-worker.js`).
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { serialize } from "node:v8";

/**
 * One point to compute.
 *
 * @example
 * const request: WorkerRequest = { module: "file:///app/points.js", export: "simulate", point: { n: 3 } };
 */
export interface WorkerRequest {
  /** The task module's `file:` URL. */
  readonly module: string;
  /** The export to call. */
  readonly export: string;
  /** The point (structured-cloned from the main thread). */
  readonly point: unknown;
}

/**
 * The outcome of one point: its value (serialized with `v8.serialize`), the error the function
 * threw, or a setup failure (the module or the export could not be loaded: the whole run fails,
 * not one point).
 *
 * @example
 * const reply: WorkerReply = { ok: false, error: { name: "RangeError", message: "n = 3 is unlucky" } };
 */
export type WorkerReply =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly error: { readonly name: string; readonly message: string } }
  | { readonly ok: false; readonly setup: string };

const handlers = new Map<string, Promise<(point: unknown) => unknown>>();
let tsxRegistered = false;

/**
 * Computes one point (piscina calls this once per task).
 *
 * @example
 * await runPoint({ module: "file:///app/points.js", export: "simulate", point: { n: 3 } });
 * // { ok: true, bytes: <v8.serialize({ est: 0.5 })> }
 */
export default async function runPoint(request: WorkerRequest): Promise<WorkerReply> {
  let fn: (point: unknown) => unknown;
  try {
    fn = await loadTask(request.module, request.export);
  } catch (e) {
    return { ok: false, setup: e instanceof Error ? e.message : String(e) };
  }
  let value: unknown;
  try {
    value = await fn(request.point);
  } catch (e) {
    const { name, message } = (e ?? {}) as { name?: unknown; message?: unknown };
    return typeof message === "string"
      ? { ok: false, error: { name: typeof name === "string" && name ? name : "Error", message } }
      : { ok: false, error: { name: "Error", message: String(e) } };
  }
  // Serialized here rather than by postMessage: a value that cannot be copied (say, a function)
  // becomes this point's error record, instead of an exception in piscina's message loop that
  // kills the worker and reaches the main thread as "[object Object]".
  try {
    return { ok: true, bytes: serialize(value) };
  } catch (e) {
    return { ok: false, error: { name: "DataCloneError", message: `the result cannot be sent back from the worker thread: ${(e as Error).message}` } };
  }
}

/**
 * A task's function, imported once per thread (TypeScript through tsx, see importModule): what
 * `runPoint` calls, and what the bullmq backend fingerprints (caller and `memopipe worker`).
 *
 * @example
 * const simulate = await loadTask("file:///app/points.ts", "simulate");
 */
export function loadTask(module: string, name: string): Promise<(point: unknown) => unknown> {
  const key = `${module}#${name}`;
  let handler = handlers.get(key);
  if (!handler) {
    handler = loadExport(module, name);
    handlers.set(key, handler);
  }
  return handler;
}

/**
 * A module's exports, imported as task modules are (TypeScript through tsx): where the bullmq
 * Runner looks for a DAG's stages.
 *
 * @example
 * const exports = await loadModule("file:///app/pipeline.ts");
 */
export async function loadModule(module: string): Promise<Record<string, unknown>> {
  return (await importModule(module)) as Record<string, unknown>;
}

async function loadExport(module: string, name: string): Promise<(point: unknown) => unknown> {
  const mod = (await importModule(module)) as Record<string, unknown>;
  // A CommonJS module imported from ESM exposes its exports as `default` too.
  const fn = mod[name] ?? (mod.default as Record<string, unknown> | undefined)?.[name];
  if (typeof fn !== "function") {
    const exported = Object.keys(mod).filter((k) => typeof mod[k] === "function");
    throw new Error(`the task module ${module} has no exported function '${name}' (its exported functions: ${exported.map((k) => `'${k}'`).join(", ") || "none"})`);
  }
  return fn as (point: unknown) => unknown;
}

const isTypeScript = (module: string) => /\.[mc]?tsx?$/.test(new URL(module).pathname);
/** The URL a TypeScript module is imported by once tsx is registered here (see importModule). */
const viaTsx = (module: string) => `${module}${module.includes("?") ? "&" : "?"}memopipe-tsx`;

/**
 * Imports a task module. A TypeScript module that Node cannot load gets tsx registered, then is
 * imported again under a URL with a query: Node remembers the failed import of the plain URL, so
 * that URL would fail again. From then on every TypeScript module of this worker goes through
 * the query URL (one module instance for all its exports).
 */
async function importModule(module: string): Promise<unknown> {
  if (tsxRegistered && isTypeScript(module)) return import(viaTsx(module));
  try {
    return await import(module);
  } catch (e) {
    if ((e as { code?: unknown }).code !== "ERR_UNKNOWN_FILE_EXTENSION" || !isTypeScript(module)) throw e;
    await registerTsx(module);
    return import(viaTsx(module));
  }
}

async function registerTsx(module: string): Promise<void> {
  const from = [module.startsWith("file:") ? fileURLToPath(module) : undefined, join(process.cwd(), "noop.js")];
  for (const base of from) {
    if (!base) continue;
    const api = tsxEsmApi(base);
    if (!api) continue;
    const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
    register();
    tsxRegistered = true;
    return;
  }
  throw new Error(`the task module ${module} is TypeScript: install tsx (npm i -D tsx) or point the task at compiled JavaScript`);
}

/**
 * The file of tsx's ESM API (`tsx/esm/api` under the `import` condition), as seen from `base`.
 * `require.resolve` would pick its CommonJS twin, which registers its hooks by a path relative to
 * itself that does not exist; so the `import` target is read from tsx's package.json exports.
 */
function tsxEsmApi(base: string): string | undefined {
  try {
    const manifest = createRequire(base).resolve("tsx/package.json");
    const exports = (JSON.parse(readFileSync(manifest, "utf8")) as { exports?: Record<string, unknown> }).exports;
    let target: unknown = exports?.["./esm/api"];
    while (target !== null && typeof target === "object") target = (target as Record<string, unknown>).import ?? (target as Record<string, unknown>).default;
    return typeof target === "string" ? join(dirname(manifest), target) : undefined;
  } catch {
    return undefined;
  }
}
