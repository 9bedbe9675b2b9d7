/**
 * The in-process and local loggers: `memlist` (an array), `memfile` (a JSON-lines file),
 * `memfunc` (a callback) and `memstdout` (one JSON line per call on stdout).
 */
import fs from "node:fs";
import path from "node:path";
import type { LoggerOf } from "../../types/logger.js";
import { LoggerError, toJsonLine, wrapLogged, type AnyRecord } from "./record.js";

/**
 * Options of `memlist`.
 *
 * @example
 * const options: MemlistOptions<{ n: number; sq: number }> = { data: [] };
 */
export interface MemlistOptions<Rec> {
  /** The array each record is pushed onto (in place). Its element type is the record type checked at compile time. */
  readonly data: Rec[];
}

/**
 * Logs each call's record (named arguments merged with the result, the result winning on a clash)
 * by pushing it onto `data`. The record type is checked at compile time: it must be exactly
 * `data`'s element type (no missing field, no field of another type, no undeclared field), or the
 * function argument fails to compile with a message naming the field.
 *
 * @example
 * const data: { classSize: number; nSim: number; estProba: number }[] = [];
 * const birthday = memlist({ data })(({ classSize, nSim }: { classSize: number; nSim: number }) => ({
 *   estProba: simulate(classSize, nSim),
 * }));
 * birthday({ classSize: 23, nSim: 10_000 });
 * data; // [{ classSize: 23, nSim: 10000, estProba: 0.507 }]
 */
export function memlist<Rec>(options: MemlistOptions<Rec>): LoggerOf<Rec, "data"> {
  const data = options?.data as unknown;
  if (!Array.isArray(data)) throw new LoggerError(`memlist({ data }): data must be an array, got ${typeof data}`);
  return ((fn: (...args: any[]) => any) =>
    wrapLogged(
      fn,
      (record) => {
        data.push(record);
      },
      "memlist",
    )) as LoggerOf<Rec, "data">;
}

/**
 * Options of `memfile`.
 *
 * @example
 * const options: MemfileOptions = { path: "results/sweep.jsonl" };
 */
export interface MemfileOptions {
  /** The JSON-lines file records are appended to; it and its directory are created when missing. */
  readonly path: string;
}

/**
 * Logs each call's record as one line of JSON appended to `path` (JSON Lines, UTF-8). Each line is
 * appended whole, in one write to a file opened with `O_APPEND`, so concurrent calls, async
 * functions in flight together and other processes appending to the same file never interleave
 * lines. A sync function's line is written before the call returns; an async function's promise
 * resolves once its line is written. Values JSON cannot carry are converted as `toJsonLine` says.
 *
 * Any record is accepted; give the record type to check it: `memfile<Row>({ path })`.
 *
 * @example
 * const run = memfile({ path: "results/birthday.jsonl" })(
 *   async ({ classSize }: { classSize: number }) => ({ estProba: await simulate(classSize) }),
 * );
 * await run({ classSize: 23 }); // appends {"classSize":23,"estProba":0.507}
 */
export function memfile<Rec = any>(options: MemfileOptions): LoggerOf<Rec, "memfile<Rec>"> {
  const file = options?.path;
  if (typeof file !== "string" || file.length === 0) throw new LoggerError("memfile({ path }): path must be a non-empty string");
  let dirReady = false;
  const ensureDir = (): void => {
    if (!dirReady) {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      dirReady = true;
    }
  };
  return ((fn: (...args: any[]) => any) =>
    wrapLogged(
      fn,
      (record, sync) => {
        const line = toJsonLine(record); // serialize first: nothing is written when it throws
        ensureDir();
        // One append per complete line: `appendFile` opens with O_APPEND (flag "a") and writes the
        // whole buffer in one write(2) for any line under Node's 512 KiB chunk size.
        if (sync) fs.appendFileSync(file, line, { flag: "a" });
        else return fs.promises.appendFile(file, line, { flag: "a" });
      },
      "memfile",
    )) as LoggerOf<Rec, "memfile<Rec>">;
}

/**
 * Logs each call's record by calling `callback(record)` (memo's `memfunc`). The record type is
 * inferred from the callback's parameter when it is annotated and checked as `memlist` checks
 * `data`. For an async function, a promise returned by the callback is awaited before the call
 * resolves; for a sync function it is not awaited.
 *
 * @example
 * const rows: { n: number; sq: number }[] = [];
 * const square = memfunc((r: { n: number; sq: number }) => rows.push(r))(({ n }: { n: number }) => ({ sq: n * n }));
 * square({ n: 3 }); // rows: [{ n: 3, sq: 9 }]
 */
export function memfunc<Rec = any>(callback: (record: Rec) => unknown): LoggerOf<Rec, "the callback"> {
  if (typeof callback !== "function") throw new LoggerError(`memfunc(callback): callback must be a function, got ${typeof callback}`);
  return ((fn: (...args: any[]) => any) =>
    wrapLogged(
      fn,
      (record, sync) => {
        const out = callback(record as Rec);
        if (!sync && typeof (out as PromiseLike<unknown> | undefined)?.then === "function") {
          return Promise.resolve(out).then(() => {});
        }
      },
      "memfunc",
    )) as LoggerOf<Rec, "the callback">;
}

/**
 * Options of `memstdout`.
 *
 * @example
 * const lines: string[] = [];
 * const options: MemstdoutOptions = { stream: { write: (s) => lines.push(s) } };
 */
export interface MemstdoutOptions {
  /** Where lines go instead of `process.stdout` (anything with `write(string)`). */
  readonly stream?: { write(chunk: string): unknown };
}

/**
 * Logs each call's record as one line of JSON on standard output (`process.stdout`, looked up at
 * each call, or `options.stream`): pipe a sweep into a file or `jq`.
 *
 * @example
 * const f = memstdout()(({ n }: { n: number }) => ({ sq: n * n }));
 * f({ n: 3 }); // prints {"n":3,"sq":9}
 */
export function memstdout<Rec = any>(options: MemstdoutOptions = {}): LoggerOf<Rec, "memstdout<Rec>"> {
  const write = (line: string): void => {
    (options.stream ?? process.stdout).write(line);
  };
  return ((fn: (...args: any[]) => any) => wrapLogged(fn, (record: AnyRecord) => write(toJsonLine(record)), "memstdout")) as LoggerOf<
    Rec,
    "memstdout<Rec>"
  >;
}
