/**
 * Ctrl-C and SIGTERM during a sweep, on a real terminal: test/fixtures/interrupted-sweep.ts runs
 * under `script` (util-linux), which gives it a pseudo-terminal; Ctrl-C is the byte 0x03 typed into
 * that terminal, so the terminal driver sends SIGINT to the whole foreground process group, as a
 * user's key press does. The sweep logs each point with memweb to a server that never answers, so
 * every record is in flight or queued when the signal comes: all of them must be in the spool after.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..");
const fixture = "test/fixtures/interrupted-sweep.ts";
const tmp = mkdtempSync(path.join(tmpdir(), "memopipe-signals-"));
const held: http.ServerResponse[] = [];
const server = http.createServer((_req, res) => held.push(res)); // takes every request, answers none
let url = "";
const children: ChildProcess[] = [];

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/records`;
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const r of held) r.destroy();
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

interface Interrupted {
  /** Everything the terminal showed (stdout and stderr of the program, with the escape sequences). */
  readonly screen: string;
  /** What `script` exited with: the program's status, 128 + the signal's number when a signal ended it. */
  readonly status: number | null;
  /** The `n` of every record the program logged, and of every record in the spool afterwards. */
  readonly logged: number[];
  readonly spooled: number[];
}

/**
 * Runs the fixture on a terminal `columns` wide, waits for `after` records, then interrupts it:
 * `"ctrl-c"` types 0x03 on the terminal, `"SIGTERM"` kills the program's process.
 */
async function interrupt(o: { command: string; backend: "in-process" | "threads"; how: "ctrl-c" | "SIGTERM"; columns?: number; userHandler?: boolean; after?: number }): Promise<Interrupted> {
  const spool = path.join(tmp, `spool-${children.length}.jsonl`);
  const child = spawn("script", ["-qfec", `stty cols ${o.columns ?? 80} rows 24; exec ${o.command} ${fixture}`, "/dev/null"], {
    cwd: root,
    env: { ...process.env, MEMWEB_URL: url, SPOOL: spool, BACKEND: o.backend, USER_HANDLER: o.userHandler ? "1" : "", NO_COLOR: "" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  let screen = "";
  let sent = false;
  const status = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit in 30 s; the terminal showed:\n${screen}`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      screen += d.toString("utf8");
      if (!sent && (screen.match(/logged \d+/g) ?? []).length >= (o.after ?? 4)) {
        sent = true;
        if (o.how === "ctrl-c") child.stdin!.write("\x03");
        else process.kill(Number(/pid (\d+)/.exec(screen)![1]), "SIGTERM");
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const numbers = (text: string, re: RegExp) => [...text.matchAll(re)].map((m) => Number(m[1]));
  return {
    screen,
    status,
    logged: numbers(screen, /logged (\d+)/g),
    spooled: existsSync(spool) ? numbers(readFileSync(spool, "utf8"), /^\{"n":(\d+),/gm) : [],
  };
}

/** The terminal's cursor is shown again after it was last hidden, and wrapping was never turned off. */
function expectTerminalRestored(screen: string) {
  const hidden = screen.lastIndexOf("\x1b[?25l");
  expect(hidden, "the bar hides the cursor while it draws").toBeGreaterThanOrEqual(0);
  expect(screen.indexOf("\x1b[?25h", hidden), "cursor shown again").toBeGreaterThan(hidden);
  expect(screen).not.toContain("\x1b[?7l");
}

describe("Ctrl-C and SIGTERM during a sweep, on a terminal", () => {
  it("Ctrl-C: the cursor comes back, every record logged is in the spool, the run never resolves, exit 130", async () => {
    const r = await interrupt({ command: "node --import tsx", backend: "in-process", how: "ctrl-c", columns: 50 });
    expect(r.status).toBe(130);
    expectTerminalRestored(r.screen);
    expect(r.logged.length).toBeGreaterThanOrEqual(4);
    expect([...r.spooled].sort((a, b) => a - b)).toEqual([...new Set(r.logged)].sort((a, b) => a - b));
    expect(r.screen).not.toContain("AFTER RUN");
    // the screen ends with the cursor shown on a fresh line, after the bar's last state
    expect(r.screen).toMatch(/points[^\n]*\r?\n\x1b\[\?25h/);
    // at 50 columns the bar keeps its count and its ETA, and never wraps
    const states = r.screen
      .split("\r")
      .map((s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ""))
      .filter((s) => s.includes("/200 points"))
      .map((s) => s.replace(/logged[\s\S]*$/, ""));
    expect(states.length).toBeGreaterThan(2);
    for (const s of states) {
      expect(s.length).toBeLessThanOrEqual(49);
      expect(s).toMatch(/\d+\/200 points \| ETA (\?|\d+s)/);
    }
  });

  it("Ctrl-C on a threads sweep: the workers are closed, the records spooled, exit 130", async () => {
    const r = await interrupt({ command: "node --import tsx", backend: "threads", how: "ctrl-c" });
    expect(r.status).toBe(130);
    expectTerminalRestored(r.screen);
    expect([...r.spooled].sort((a, b) => a - b)).toEqual([...new Set(r.logged)].sort((a, b) => a - b));
    // a point cut short by closing the pool is no error record the program goes on with
    expect(r.screen).not.toContain("AFTER RUN");
  });

  it("SIGTERM, under the tsx command (which has a hidden signal listener of its own): the same, exit 143", async () => {
    const r = await interrupt({ command: "node_modules/.bin/tsx", backend: "in-process", how: "SIGTERM" });
    expect(r.status).toBe(143);
    expectTerminalRestored(r.screen);
    expect([...r.spooled].sort((a, b) => a - b)).toEqual([...new Set(r.logged)].sort((a, b) => a - b));
  });

  it("a program with its own SIGINT handler keeps it: it decides when to exit, and the cleanups run then", async () => {
    const r = await interrupt({ command: "node --import tsx", backend: "in-process", how: "ctrl-c", userHandler: true });
    expect(r.screen).toContain("user handler SIGINT");
    expect(r.status).toBe(7);
    expectTerminalRestored(r.screen);
    expect([...r.spooled].sort((a, b) => a - b)).toEqual([...new Set(r.logged)].sort((a, b) => a - b));
  });
});
