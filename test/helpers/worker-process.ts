/**
 * `memopipe worker` processes for a test: started from the repository's sources (tsx), their
 * output collected line by line, stopped (SIGKILL if they do not exit) when the test file ends.
 *
 * @example
 * const w = startWorkerProcess(redis.url, "q", ["--concurrency", "2", "--lock-ms", "1000"]);
 * await w.ready;
 * w.child.kill("SIGKILL");
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../..", import.meta.url));
/** tsx's loader by its file URL, so that a process started in a temp dir (no node_modules) finds it. */
export const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;

/** A running worker process. */
export interface WorkerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** stdout lines so far (one per job that ended, after the ready line). */
  readonly lines: string[];
  /** stderr so far. */
  stderr(): string;
  /** Resolves once the worker says it serves the queue. */
  readonly ready: Promise<void>;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a stdout line matches. */
  line(match: RegExp, timeoutMs?: number): Promise<string>;
}

const started = new Set<WorkerProcess>();
afterAll(async () => {
  for (const w of [...started]) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await w.exited;
  }
});

/**
 * Starts `memopipe worker --connection <url> --queue <queue> …args` with the repository as its
 * project root (or `env.MEMOPIPE_ROOT`), in the repository (or `cwd`: a DAG's stages keep their
 * cache events in the working directory, which a test makes a temp dir).
 */
export function startWorkerProcess(url: string, queue: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}, cwd: string = REPO): WorkerProcess {
  const child = spawn(process.execPath, ["--import", TSX, CLI, "worker", "--connection", url, "--queue", queue, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", MEMOPIPE_ROOT: REPO, ...env },
  });
  const lines: string[] = [];
  let err = "";
  let buffered = "";
  const watchers = new Set<() => void>();
  child.stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
    for (const w of watchers) w();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
    for (const w of watchers) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const line = (match: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const look = () => {
        const found = lines.find((l) => match.test(l));
        if (found !== undefined) {
          watchers.delete(look);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        watchers.delete(look);
        reject(new Error(`no worker line matching ${match} within ${timeoutMs} ms; stdout:\n${lines.join("\n")}\nstderr:\n${err}`));
      }, timeoutMs);
      watchers.add(look);
      void exited.then(() => setTimeout(look, 10));
      look();
    });
  const w: WorkerProcess = { child, lines, stderr: () => err, ready: line(/ ready worker /, 60_000).then(() => undefined), exited, line };
  started.add(w);
  void exited.then(() => started.delete(w));
  return w;
}
