/**
 * runtime/shutdown.ts in a real child process: a signal runs the cleanups, waits up to the grace
 * period for the asynchronous ones, and never loses what a synchronous cleanup would have saved —
 * even when an asynchronous cleanup (a worker pool closing on a loaded machine) outlasts the grace.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SHUTDOWN_GRACE_MS } from "../src/runtime/shutdown.js";
import { tempDir } from "./helpers/temp.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));

/**
 * A program that logs a record every 20 ms into a queue, and registers two cleanups: one that never
 * settles (a pool that cannot close) and a synchronous one that saves the queue to `saved`, as
 * memweb's spool does. Prints `logged <n>` per record.
 */
function program(saved: string, settles: boolean): string {
  return `
import { appendFileSync } from "node:fs";
import { onShutdown } from ${JSON.stringify(join(REPO, "src/runtime/shutdown.ts"))};
const queue = [];
let n = 0;
onShutdown(() => (${settles} ? new Promise((r) => setTimeout(r, 100)) : new Promise(() => {})));
onShutdown(() => { if (queue.length) appendFileSync(${JSON.stringify(saved)}, queue.splice(0).map((x) => x + "\\n").join("")); });
setInterval(() => { queue.push(n); console.log("logged " + n++); }, 20);
`;
}

async function interrupted(settles: boolean): Promise<{ signal: NodeJS.Signals | null; logged: number[]; saved: number[]; ms: number }> {
  const dir = tempDir("memopipe-shutdown-");
  const saved = join(dir, "saved.txt");
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program(saved, settles)], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  let sentAt = 0;
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
    if (sentAt === 0 && (out.match(/logged/g) ?? []).length >= 3) {
      sentAt = Date.now();
      child.kill("SIGTERM");
    }
  });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, s) => resolve(s)));
  const ms = Date.now() - sentAt;
  let text = "";
  try {
    text = readFileSync(saved, "utf8");
  } catch {
    // nothing saved
  }
  return { signal, logged: [...out.matchAll(/logged (\d+)/g)].map((m) => Number(m[1])), saved: text.split("\n").filter(Boolean).map(Number), ms };
}

describe("shutdown on a signal", () => {
  it("a cleanup that outlasts the grace period: the process dies of the signal after the grace, and every record logged meanwhile is saved", async () => {
    const r = await interrupted(false);
    expect(r.signal).toBe("SIGTERM");
    expect(r.ms).toBeGreaterThanOrEqual(SHUTDOWN_GRACE_MS - 50);
    // records kept coming during the grace period (the interval runs on): all of them saved
    expect(r.logged.length).toBeGreaterThan(10);
    expect(r.saved).toEqual(r.logged);
  }, 20_000);

  it("cleanups that settle: the process dies of the signal, every record saved", async () => {
    const r = await interrupted(true);
    expect(r.signal).toBe("SIGTERM");
    expect(r.saved).toEqual(r.logged);
  }, 20_000);
});
