/**
 * The worker-thread side of the Runner's `threads` backend (and of `memopipe worker --threads`):
 * every thread of the pool (./pool.ts) imports this file and calls {@link serveChunks}, which
 * computes the chunks of points the main thread posts, one after the other.
 *
 * It is generic: a chunk names a module (a `file:` URL) and an export; the module is imported
 * once per thread and the export called with each point. Only plain data crosses the thread
 * boundary (the points in; the results, or each error's name and message, out), never a function.
 *
 * **Where the thread is** is written into a small shared buffer (the chunk's number, the point's
 * index in it, when that point started): the main thread reads it without a message, to tell
 * which point ran past its `timeout` or was running when the thread died, and so which points of
 * the chunk to compute again elsewhere. Two `Float64Array` stores and a `performance.now()` per
 * point (~50 ns).
 *
 * A TypeScript module (`.ts`, `.mts`, `.cts`, `.tsx`) needs a loader. `node --import tsx` in a
 * worker's `execArgv` does not install tsx's ESM hooks inside worker threads on Node 20, so when
 * the import fails with "unknown file extension" the worker registers tsx itself
 * (`tsx/esm/api`'s `register()`, resolved from the task module's own directory, then from the
 * working directory) and imports again. Built JavaScript needs none of this.
 *
 * This file must stay free of imports from the rest of memopipe, and free of top-level effects: in
 * the package it is its own bundle entry (`dist/runner-worker.js`), and the main bundle includes it
 * too (the bullmq worker computes points in its own thread with {@link runPoint}).
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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

/**
 * A chunk of points, as the pool posts it to a thread: computed in order, one reply for all.
 *
 * @example
 * const message: ChunkMessage = { seq: 7, module: "file:///app/points.js", export: "simulate", points: [{ n: 1 }, { n: 2 }] };
 */
export interface ChunkMessage {
  /** The chunk's number in the pool (written into the shared slot while it runs). */
  readonly seq: number;
  readonly module: string;
  readonly export: string;
  readonly points: readonly unknown[];
  /** Send each value back `v8.serialize`d (the bullmq worker's format) rather than as itself. */
  readonly bytes?: boolean;
}

/**
 * A chunk's reply: the values in order (`undefined` where the point failed) and the failures as
 * `[index, name, message]`, with the milliseconds the points took here (what the adaptive chunk
 * size is computed from); or a setup failure (the module or the export could not be loaded).
 *
 * @example
 * const reply: ChunkReply = { seq: 7, values: [{ sq: 1 }, undefined], errors: [[1, "RangeError", "too big"]], ms: 0.02 };
 */
export type ChunkReply =
  | { readonly seq: number; readonly values: unknown[]; readonly errors: Array<[number, string, string]> | undefined; readonly ms: number }
  | { readonly seq: number; readonly setup: string };

/**
 * The layout of a thread's shared slot (a `Float64Array` over a 24-byte `SharedArrayBuffer`):
 * the chunk under way, the index of its point under way (-1 between chunks), and when that point
 * started (ms since the epoch, `performance.timeOrigin + performance.now()`).
 */
export const SLOT_SEQ = 0;
export const SLOT_INDEX = 1;
export const SLOT_STARTED = 2;
export const SLOT_BYTES = 24;

/** `v8.serialize`, loaded on first use (this file is in the main bundle too, where `node:v8` must not load at import). */
const serialize = (value: unknown): Buffer => process.getBuiltinModule("node:v8").serialize(value);

const handlers = new Map<string, Promise<(point: unknown) => unknown>>();
let tsxRegistered = false;

/**
 * Computes one point in this thread (the bullmq worker without `--threads`).
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
  // becomes this point's error record, instead of an exception in the message loop that
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
export function tsxEsmApi(base: string): string | undefined {
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

/** `{ name, message }` of a thrown value, as runPoint reports it. */
function thrownInfo(e: unknown): [string, string] {
  const { name, message } = (e ?? {}) as { name?: unknown; message?: unknown };
  return typeof message === "string" ? [typeof name === "string" && name ? name : "Error", message] : ["Error", String(e)];
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";

/**
 * The thread's loop: computes each chunk the main thread posts (in order; an asynchronous task's
 * points one after the other, as a piscina worker with one task at a time would) and posts one
 * reply per chunk. Called once by the pool's bootstrap in each thread (./pool.ts).
 *
 * A result that cannot be copied back (a function, say) becomes that point's `DataCloneError`:
 * the whole reply is posted at once, and only when that fails is each value tried alone.
 *
 * @example
 * serveChunks(); // in a worker thread started by createPool()
 */
export function serveChunks(): void {
  const { parentPort, workerData } = process.getBuiltinModule("node:worker_threads");
  if (!parentPort) throw new Error("serveChunks() runs in a worker thread of the Runner's pool");
  const slot = new Float64Array((workerData as { slot: SharedArrayBuffer }).slot);
  slot[SLOT_INDEX] = -1;
  const origin = performance.timeOrigin;
  let chain: Promise<void> = Promise.resolve();
  const post = (reply: ChunkReply) => {
    try {
      parentPort.postMessage(reply);
    } catch (e) {
      if (!("values" in reply)) throw e;
      const errors = reply.errors ?? [];
      for (let i = 0; i < reply.values.length; i++) {
        try {
          structuredClone(reply.values[i]);
        } catch (cloneError) {
          reply.values[i] = undefined;
          errors.push([i, "DataCloneError", `the result cannot be sent back from the worker thread: ${(cloneError as Error).message}`]);
        }
      }
      parentPort.postMessage({ ...reply, errors });
    }
  };
  const run = async (m: ChunkMessage): Promise<void> => {
    let fn: (point: unknown) => unknown;
    try {
      fn = await loadTask(m.module, m.export);
    } catch (e) {
      post({ seq: m.seq, setup: e instanceof Error ? e.message : String(e) });
      return;
    }
    const { points } = m;
    const n = points.length;
    const values = new Array<unknown>(n);
    let errors: Array<[number, string, string]> | undefined;
    slot[SLOT_SEQ] = m.seq;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      // the start first, then the index: a reader that sees this index sees its start time
      slot[SLOT_STARTED] = origin + performance.now();
      slot[SLOT_INDEX] = i;
      let value: unknown;
      try {
        value = fn(points[i]);
        if (isThenable(value)) value = await value;
      } catch (e) {
        (errors ??= []).push([i, ...thrownInfo(e)]);
        continue;
      }
      if (!m.bytes) {
        values[i] = value;
        continue;
      }
      try {
        values[i] = serialize(value);
      } catch (e) {
        (errors ??= []).push([i, "DataCloneError", `the result cannot be sent back from the worker thread: ${(e as Error).message}`]);
      }
    }
    const ms = performance.now() - t0;
    slot[SLOT_INDEX] = -1;
    post({ seq: m.seq, values, errors, ms });
  };
  parentPort.on("message", (m: ChunkMessage) => {
    chain = chain.then(() => run(m));
  });
}
