/**
 * The spool of `memweb`: a JSON-lines file of records that could not be delivered yet, resent in
 * order later. Appending is lock-free (one `O_APPEND` write per batch of whole lines, safe from
 * several processes and threads); resending takes a lock file so that one sender at a time removes
 * lines, and removes them only after the endpoint accepted them (at-least-once: a crash between
 * the server's answer and the removal may send a record twice, never lose it).
 *
 * Files, for a spool `s.jsonl`: `s.jsonl` (the records, oldest first), `s.jsonl.lock` (held while
 * resending), `s.jsonl.sending` (lines claimed by the current sender; left by a sender that died,
 * and resent first by the next one).
 */
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The outcome of resending a spool.
 *
 * @example
 * const { delivered, ok }: DrainResult = await spool.drain(send);
 */
export interface DrainResult {
  /** Records the endpoint accepted. */
  readonly delivered: number;
  /** `true` when the spool was emptied; `false` when a record failed (it and the later ones stay) or another sender held the lock. */
  readonly ok: boolean;
}

const STALE_LOCK_MS = 120_000;
/** In-process queue per spool file: resends from one process never overlap (the lock file covers other processes). */
const chains = new Map<string, Promise<unknown>>();

/** The lock holder's thread (in the lock file, for whoever finds a stale lock); loaded on first use, not at import. */
const threadId = (): number => process.getBuiltinModule("node:worker_threads").threadId;

const isCode = (e: unknown, code: string): boolean => (e as NodeJS.ErrnoException | undefined)?.code === code;

function readLines(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (isCode(e, "ENOENT")) return [];
    throw e;
  }
  // A line without its "\n" is a write in progress (or torn by a crash): it is not a record yet.
  const lines = text.split("\n");
  lines.pop();
  return lines.filter((l) => l.length > 0).map((l) => `${l}\n`);
}

/**
 * A spool file.
 *
 * @example
 * const spool = new Spool(".memopipe/memweb-spool.jsonl");
 * spool.append(['{"n":1}\n']);
 * await spool.drain(async (line) => (await postWithRetry(url, line, {}, policy)).ok);
 */
export class Spool {
  readonly file: string;
  private readonly sending: string;
  private readonly lock: string;
  private dirReady = false;

  constructor(file: string) {
    this.file = path.resolve(file);
    this.sending = `${this.file}.sending`;
    this.lock = `${this.file}.lock`;
  }

  /** Appends whole lines (each ending in "\n") in one write. Synchronous, so it also works in an `exit` handler. */
  append(lines: readonly string[]): void {
    if (lines.length === 0) return;
    if (!this.dirReady) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.dirReady = true;
    }
    fs.appendFileSync(this.file, lines.join(""), { flag: "a" });
  }

  /** Whether records are waiting (cheap: two `stat`s). */
  hasRecords(): boolean {
    const size = (f: string): number => fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0;
    return size(this.file) > 0 || size(this.sending) > 0;
  }

  /** The records waiting, in the order they will be resent. */
  records(): string[] {
    return [...readLines(this.sending), ...readLines(this.file)];
  }

  /**
   * Resends the waiting records in order with `send` (which retries as it likes and resolves
   * `false` when it gives up), removing each only once sent. Stops at the first failure.
   */
  drain(send: (line: string) => Promise<boolean>): Promise<DrainResult> {
    const previous = chains.get(this.file) ?? Promise.resolve();
    const run = previous.then(() => this.drainLocked(send));
    const tail = run.catch(() => {});
    chains.set(this.file, tail);
    void tail.then(() => {
      if (chains.get(this.file) === tail) chains.delete(this.file);
    });
    return run;
  }

  private async drainLocked(send: (line: string) => Promise<boolean>): Promise<DrainResult> {
    if (!this.hasRecords()) return { delivered: 0, ok: true };
    if (!(await this.acquire())) return { delivered: 0, ok: false };
    let delivered = 0;
    try {
      for (;;) {
        let lines = readLines(this.sending);
        let start = 0;
        if (lines.length === 0) {
          // Try the oldest record before claiming the file: while the endpoint is down, a resend
          // attempt leaves the spool untouched.
          const first = readLines(this.file)[0];
          if (first === undefined) break;
          if (!(await send(first))) return { delivered, ok: false };
          delivered++;
          this.touch();
          // Claim the file: appenders (which only ever add at the end) now start a new one. An
          // appender in another process that opened the old file just before may still write to
          // it: give it a moment, and read the claimed file again before removing it.
          fs.renameSync(this.file, this.sending);
          await sleep(5);
          lines = readLines(this.sending);
          start = 1; // the first line is the one just sent (only a lock holder removes lines)
        }
        for (let i = start; ; i++) {
          if (i >= lines.length) {
            const again = readLines(this.sending);
            if (again.length <= lines.length) break;
            lines = again;
          }
          if (!(await send(lines[i]!))) {
            this.restore(lines.slice(i));
            return { delivered, ok: false };
          }
          delivered++;
          this.touch();
        }
        fs.rmSync(this.sending, { force: true });
      }
      // Leave an empty spool behind rather than none: "nothing waiting" reads the same either way.
      fs.closeSync(fs.openSync(this.file, "a"));
      return { delivered, ok: true };
    } finally {
      fs.rmSync(this.lock, { force: true });
    }
  }

  /**
   * Puts unsent claimed lines back at the front of the spool, ahead of anything appended since.
   * The new file is published with `link`, which fails rather than replace a spool an appender
   * created meanwhile (then its lines are merged too and the link is tried again).
   */
  private restore(remaining: readonly string[]): void {
    const merge = `${this.file}.merge`;
    const tmp = `${this.file}.restore`;
    let content = remaining.join("");
    for (let round = 0; round < 100; round++) {
      let mergedBytes = -1;
      try {
        fs.renameSync(this.file, merge);
        const more = fs.readFileSync(merge);
        mergedBytes = more.length;
        content += more.toString("utf8");
      } catch (e) {
        if (!isCode(e, "ENOENT")) throw e;
      }
      fs.writeFileSync(tmp, content);
      try {
        fs.linkSync(tmp, this.file);
      } catch (e) {
        if (!isCode(e, "EEXIST")) throw e;
        fs.rmSync(tmp, { force: true });
        continue;
      }
      fs.rmSync(tmp, { force: true });
      if (mergedBytes >= 0) {
        // An appender that opened the old file just before the rename may have written after we read it.
        const late = fs.readFileSync(merge).subarray(mergedBytes);
        if (late.length > 0) fs.appendFileSync(this.file, late);
        fs.rmSync(merge, { force: true });
      }
      fs.rmSync(this.sending, { force: true });
      return;
    }
    // Could not publish (an appender raced us 100 times): the lines stay in `.sending`, resent first next time.
    fs.writeFileSync(this.sending, remaining.join(""));
  }

  /** Takes the lock file, waiting up to 5 s for another sender; breaks a lock whose holder is gone. */
  private async acquire(): Promise<boolean> {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        fs.writeFileSync(this.lock, `${process.pid} ${threadId()} ${Date.now()}\n`, { flag: "wx" });
        return true;
      } catch (e) {
        if (!isCode(e, "EEXIST")) throw e;
      }
      if (this.lockIsStale()) {
        fs.rmSync(this.lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) return false;
      await sleep(50);
    }
  }

  private lockIsStale(): boolean {
    try {
      const stat = fs.statSync(this.lock);
      if (Date.now() - stat.mtimeMs > STALE_LOCK_MS) return true;
      const pid = Number(fs.readFileSync(this.lock, "utf8").split(" ")[0]);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
        try {
          process.kill(pid, 0);
        } catch (e) {
          return isCode(e, "ESRCH");
        }
      }
      return false;
    } catch (e) {
      return isCode(e, "ENOENT");
    }
  }

  /** Marks the lock as alive (a long resend is not mistaken for a dead one). */
  private touch(): void {
    const now = new Date();
    try {
      fs.utimesSync(this.lock, now, now);
    } catch {
      // the lock was broken by someone else; the resend goes on (at worst a record is sent twice)
    }
  }
}
