import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Piscina } from "piscina";
import { MemopipeError } from "../errors.js";
import { onShutdown, shuttingDown } from "../shutdown.js";
import type { WorkerReply, WorkerRequest } from "./worker.js";

/**
 * This module's own file. ESM (the sources, `dist/index.js`): `import.meta.url`; CommonJS
 * (`dist/index.cjs`, where esbuild leaves `import.meta` empty): `__filename`. `typeof` keeps the
 * ESM build from touching the undefined `__filename`.
 */
function thisFile(): string {
  if (typeof __filename === "string" && __filename) return __filename;
  return fileURLToPath(import.meta.url);
}

/**
 * The worker script piscina loads. Two layouts:
 *
 * - **sources** (vitest, tsx, or `src/` compiled file by file): this file is `pool.ts`/`pool.js`
 *   and the worker is its sibling `worker.ts`/`worker.js`;
 * - **the bundle** (`dist/index.js`, `dist/index.cjs`): everything is in one file, and the worker
 *   is its own bundle entry next to it, `dist/runner-worker.js` (or `.cjs`).
 *
 * @example
 * workerScript(); // "/app/node_modules/memopipe/dist/runner-worker.js"
 */
export function workerScript(): string {
  const file = thisFile();
  const dir = dirname(file);
  const candidates = /^pool\.[cm]?[jt]s$/.test(basename(file))
    ? [join(dir, basename(file).replace(/^pool/, "worker"))]
    : [join(dir, "runner-worker.js"), join(dir, "runner-worker.cjs"), join(dir, "runner-worker.mjs")];
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new MemopipeError(`the Runner's worker script is missing: looked for ${candidates.join(", ")} (the build must emit it next to ${basename(file)})`);
  }
  return found;
}

/** Whether `execArgv` already loads tsx (the process was started with `tsx` or `--import tsx`). */
function loadsTsx(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => /(^|[\\/])tsx([\\/]|$)|tsx\/dist\//.test(arg));
}

/**
 * The worker threads' `execArgv`. Workers inherit this process's flags; when the worker script
 * itself is TypeScript (the sources) and this process does not already load tsx (vitest transforms
 * modules its own way, without a Node loader), tsx is added so that the worker can load
 * `worker.ts`. tsx is resolved from the worker script's directory, so the flag does not depend on
 * the working directory.
 *
 * @example
 * workerExecArgv("/repo/src/runtime/runner/worker.ts"); // [...process.execArgv, "--import", "file:///repo/node_modules/tsx/dist/loader.mjs"]
 * workerExecArgv("/app/dist/runner-worker.js");         // undefined: inherit
 */
export function workerExecArgv(script: string): string[] | undefined {
  if (!/\.[mc]?ts$/.test(script) || loadsTsx(process.execArgv)) return undefined;
  let loader: string;
  try {
    loader = pathToFileURL(createRequire(script).resolve("tsx")).href;
  } catch {
    throw new MemopipeError(`the Runner's worker script is TypeScript (${script}): running memopipe from its sources needs tsx installed`);
  }
  return [...process.execArgv, "--import", loader];
}

/**
 * A pool of worker threads running the generic worker script.
 *
 * @example
 * const pool: ThreadPool = createPool({ threads: 2 });
 */
export interface ThreadPool {
  /** Computes one point on some worker. Rejects only when the worker itself fails (it died, or the result could not be sent back). */
  run(request: WorkerRequest): Promise<WorkerReply>;
  /** The worker threads' count. */
  readonly threads: number;
  /** Stops the workers. */
  close(): Promise<void>;
}

/**
 * Starts `threads` worker threads (all at once, and kept until `close()`: idle workers do not keep
 * the process alive).
 *
 * @example
 * const pool = createPool({ threads: 2 });
 * await pool.run({ module: "file:///app/points.js", export: "simulate", point: { n: 1 } });
 * await pool.close();
 */
export function createPool(options: { threads: number; execArgv?: readonly string[] | undefined }): ThreadPool {
  const filename = workerScript();
  const execArgv = options.execArgv ? [...options.execArgv] : workerExecArgv(filename);
  const piscina = new Piscina<WorkerRequest, WorkerReply>({
    filename: pathToFileURL(filename).href,
    minThreads: options.threads,
    maxThreads: options.threads,
    // A worker that finishes a point waits for the next one; idle ones are unref'd by piscina.
    idleTimeout: Infinity,
    ...(execArgv ? { execArgv } : {}),
  });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= piscina.close({ force: true }));
  // Ctrl-C or SIGTERM closes the workers before the process dies (runtime/shutdown.ts).
  const offShutdown = onShutdown(close);
  return {
    threads: options.threads,
    // A point cut short by that close never settles: the sweep must not go on with error records
    // (and the program act on them) in the moments before the process dies.
    run: (request) => piscina.run(request).catch((e: unknown) => (shuttingDown() ? new Promise<never>(() => {}) : Promise.reject(e))),
    close: () => (offShutdown(), close()),
  };
}
