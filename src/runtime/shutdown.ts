/**
 * What memopipe puts right when the process ends before its work does: Ctrl-C (SIGINT), `kill`
 * (SIGTERM), a closed terminal (SIGHUP), or a plain exit. A progress bar gives the terminal its
 * cursor back and ends its line, memweb moves the records not delivered yet to its spool, the
 * Runner's worker pool is closed. Each of those registers a cleanup here while it has something to
 * put right, and unregisters it when done.
 *
 * ## Signals, without stealing them
 * Node's default for SIGINT/SIGTERM/SIGHUP is to die at once, running no `exit` handler: records
 * waiting in memory are lost and a hidden cursor stays hidden. Listening for the signal replaces
 * that default, so the listener must do what the default would have done, and only when it is
 * the default that should apply:
 *
 * - **The program listens for the signal itself** (its own `process.on("SIGINT", …)`, to stop a
 *   sweep gracefully, say): nothing is done here. The program decides whether and when the process
 *   ends; if it calls `process.exit()`, the cleanups run then, from the `exit` event.
 * - **Nobody else listens** (the usual case): the cleanups run (synchronous ones at once, then up to
 *   {@link SHUTDOWN_GRACE_MS} for the asynchronous ones, such as closing worker threads, then the
 *   synchronous ones again for whatever arrived meanwhile), our listeners are removed and the signal
 *   is raised again, so the process dies of it as it would have without memopipe: a shell shows
 *   130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP, and a parent sees the signal (a process that
 *   *exited* 130 would not stop a calling shell script the way a real SIGINT does). A second
 *   signal during the grace period ends the process at once.
 *
 * tsx (the TypeScript runner) adds a SIGINT/SIGTERM listener of its own that it hides from
 * `process.listenerCount`; it exits with 128 + the signal's number when it sees no other listener,
 * which is what happens to the raised-again signal. Signals reach only the main thread, so worker
 * threads only get the `exit` cleanups.
 */

/** A cleanup: put one thing right. May run more than once (at a signal, then at exit): make it idempotent. */
export type Cleanup = () => void | Promise<void>;

/** How long a signal waits for asynchronous cleanups (closing worker threads) before the process dies anyway. */
export const SHUTDOWN_GRACE_MS = 2_000;

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type Signal = (typeof SIGNALS)[number];

// `@__PURE__`: a bundle of a program that never registers a cleanup (a pipe-only one) drops this
// module's state and functions, which a bundler otherwise keeps for the constructor calls.
const cleanups = /* @__PURE__ */ new Set<Cleanup>();
let installed = false;
let exiting: Signal | undefined;

/** Runs every cleanup once, now; returns the promises of the asynchronous ones. Never throws. */
function runAll(): Promise<unknown>[] {
  const pending: Promise<unknown>[] = [];
  for (const cleanup of [...cleanups]) {
    try {
      const result = cleanup();
      if (result && typeof (result as Promise<void>).then === "function") pending.push(Promise.resolve(result).catch(() => {}));
    } catch {
      // one failed cleanup must not keep the others from running
    }
  }
  return pending;
}

function onExit(): void {
  void runAll();
}

function onSignal(signal: Signal): void {
  if (exiting) {
    // a second Ctrl-C while the cleanups run: stop waiting
    raise(signal);
    return;
  }
  // The program's own listener decides (see the file's comment). listenerCount counts ours.
  if (process.listenerCount(signal) > 1) return;
  exiting = signal;
  const pending = runAll();
  // Past the grace period the process dies without waiting for the slow cleanups — but the
  // synchronous ones run once more first: a record logged while a worker pool took too long to
  // close (seconds on a loaded machine) is spooled, not lost with the process.
  const timer = setTimeout(() => {
    void runAll();
    raise(signal);
  }, SHUTDOWN_GRACE_MS);
  void Promise.all(pending).then(() => {
    clearTimeout(timer);
    void runAll(); // records logged while the pools closed
    raise(signal);
  });
}

const listeners = /* @__PURE__ */ new Map<Signal, () => void>(/* @__PURE__ */ SIGNALS.map((s) => [s, () => onSignal(s)]));

/** Removes our listeners and raises `signal` again: the process ends as it would have without us. */
function raise(signal: Signal): void {
  uninstall();
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", onExit);
  // node:worker_threads is loaded here, not when memopipe is imported (the import stays light)
  if (process.getBuiltinModule("node:worker_threads").isMainThread) for (const [signal, listener] of listeners) process.on(signal, listener);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener("exit", onExit);
  for (const [signal, listener] of listeners) process.removeListener(signal, listener);
}

/**
 * Whether a signal is ending the process (the cleanups are running). Work that a cleanup cut short
 * (a point on a closed worker thread) should then never settle rather than report a failure that
 * the program would act on in its last milliseconds.
 *
 * @example
 * pool.run(request).catch((e) => (shuttingDown() ? new Promise(() => {}) : Promise.reject(e)));
 */
export function shuttingDown(): boolean {
  return exiting !== undefined;
}

/**
 * Registers a cleanup to run if the process ends (a signal, or exit) while it is registered;
 * returns the function that unregisters it. With no cleanup registered, memopipe listens for no
 * signal at all.
 *
 * @example
 * const off = onShutdown(() => stream.write("\x1b[?25h")); // show the cursor again, whatever happens
 * try { await draw(); } finally { off(); }
 */
export function onShutdown(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0 && !exiting) uninstall();
  };
}
