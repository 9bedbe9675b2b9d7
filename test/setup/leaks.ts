/**
 * The suite's leak check (a vitest setup file: it runs in each test file's worker, before the file).
 *
 * A test file FAILS when it leaves behind
 * - a temp dir or file: each test file gets its own `TMPDIR` (so `os.tmpdir()` in the file and in
 *   every process it starts points there), which must be empty once the file's own `afterAll` /
 *   `afterEach` hooks have run;
 * - a process: every process the file starts inherits `MEMOPIPE_TEST_MARK` (a fresh id per file) in
 *   its environment, and none may still run when the file ends (grandchildren included, even when
 *   they were re-parented). Linux only (`/proc`); elsewhere only the temp dir is checked.
 *
 * Per-file `TMPDIR` rather than a before/after listing of the shared temp dir: test files run in
 * parallel (and other checkouts may run their suites on the same machine), so only a directory of
 * its own tells which file left what. Whatever is found is removed (processes killed), so the check
 * itself leaves nothing behind either; the failure message lists it.
 *
 * To clean up in a test: `tempDir(prefix)` from `test/helpers/temp.ts` (removed after the file),
 * or `rmSync(dir, { recursive: true, force: true })` in an `afterEach` / `afterAll`; stop every
 * child (`child.kill()` and await its `exit`) and every server.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** The machine's temp dir (saved once per worker: later files see the previous file's TMPDIR). */
const REAL_TMPDIR_ENV = "MEMOPIPE_TEST_REAL_TMPDIR";
process.env[REAL_TMPDIR_ENV] ??= tmpdir();
const realTmp = process.env[REAL_TMPDIR_ENV]!;

/** Caches that tools keep in the temp dir on purpose (tsx's compile cache), not leaks of a test. */
const TOOL_CACHES = [/^tsx-\d+$/, /^node-compile-cache$/];

// under the run's dir (test/setup/run-temp.ts), removed at the end of the run even if this file never ends
const fileTmp = mkdtempSync(join(process.env.MEMOPIPE_TEST_RUN_DIR ?? realTmp, "memopipe-testfile-"));
// Like /tmp (world-writable, sticky): some tests run a child as another user (a cache another
// user owns), and its tools write to the temp dir too.
chmodSync(fileTmp, 0o1777);
// tsx keeps its compile cache in the temp dir: share the machine's (a link, removed with the dir),
// or every test file would start its tsx children cold (seconds more under load, which changes
// the timing that tests of signals and worker start-up see).
const tsxCache = `tsx-${process.getuid?.() ?? 0}`;
try {
  mkdirSync(join(realTmp, tsxCache), { recursive: true, mode: 0o700 });
  symlinkSync(join(realTmp, tsxCache), join(fileTmp, tsxCache));
} catch {
  // no shared cache: tsx makes its own here (allowed below)
}
const mark = fileTmp.slice(fileTmp.lastIndexOf("-") + 1);
process.env.TMPDIR = fileTmp;
process.env.MEMOPIPE_TEST_MARK = mark;

/** Processes other than this one whose environment carries this file's mark: pid and command line. */
function markedProcesses(): { pid: number; command: string }[] {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return []; // no /proc: not Linux
  }
  const needle = Buffer.from(`\0MEMOPIPE_TEST_MARK=${mark}\0`);
  const found: { pid: number; command: string }[] = [];
  for (const name of pids) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${name}/environ`), Buffer.from([0])]);
      if (!environ.includes(needle)) continue;
      const command = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ").trim();
      found.push({ pid, command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

afterAll(async () => {
  const problems: string[] = [];

  // Processes: a child killed in the file's last hook may need a moment to exit.
  let left = markedProcesses();
  for (let waited = 0; left.length > 0 && waited < 3_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = markedProcesses();
  }
  for (const p of left) {
    problems.push(`process ${p.pid} still running: ${p.command.slice(0, 200)}`);
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }

  // Temp entries.
  for (const entry of readdirSync(fileTmp)) {
    if (!TOOL_CACHES.some((re) => re.test(entry))) problems.push(`temp entry left behind: ${entry} (in os.tmpdir())`);
  }

  process.env.TMPDIR = realTmp;
  delete process.env.MEMOPIPE_TEST_MARK;
  rmSync(fileTmp, { recursive: true, force: true, maxRetries: 3 });

  if (problems.length > 0) {
    throw new Error(
      `this test file left things behind (see test/setup/leaks.ts; they are removed now):\n  ${problems.join("\n  ")}\n` +
        `remove temp dirs in afterEach/afterAll (or use tempDir() from test/helpers/temp.ts) and stop every child process and server`,
    );
  }
}, 10_000);
