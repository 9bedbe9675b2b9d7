import cliProgress from "cli-progress";

/**
 * Where progress is written: `process.stderr` by default, or any object with `write`.
 *
 * @example
 * const lines: string[] = [];
 * new Runner({ backend: "in-process", progress: { stream: { write: (s: string) => lines.push(s) } } });
 */
export interface ProgressStream {
  write(chunk: string): unknown;
  /** A terminal gets a redrawn bar; anything else gets plain lines. */
  readonly isTTY?: boolean | undefined;
}

/**
 * How a `Runner` reports progress (`progress: true` is all defaults; `false` is silent).
 *
 * @example
 * new Runner({ backend: "threads", progress: { label: "birthday", mode: "lines", everySeconds: 10 } });
 */
export interface ProgressOptions {
  /** Where to write (default `process.stderr`). */
  readonly stream?: ProgressStream;
  /** `"auto"` (default): a bar with an ETA on a terminal, plain lines otherwise. */
  readonly mode?: "auto" | "bar" | "lines";
  /** Plain lines: write one when this many seconds have passed since the last (default 1)… */
  readonly everySeconds?: number;
  /** …or when another such fraction of the points is done (default 0.1, every 10%). */
  readonly everyFraction?: number;
  /** A prefix naming the sweep (`"birthday: 12/100 points, eta 3s"`). */
  readonly label?: string;
}

/**
 * A running progress display.
 *
 * @example
 * const p: ProgressReporter = progressReporter(true, 10);
 * p.update(1, 0);
 * p.stop();
 */
export interface ProgressReporter {
  /** `done` points finished so far, `failed` of them with an error record. */
  update(done: number, failed: number): void;
  /** The final line (or the bar's last state); idempotent. */
  stop(): void;
}

const silent: ProgressReporter = { update() {}, stop() {} };

/**
 * A duration for people: `4s`, `2m05s`, `1h03m` (`precise`: tenths under a minute, `4.2s`).
 *
 * @example
 * formatDuration(125); // "2m05s"
 * formatDuration(4.24, true); // "4.2s"
 */
export function formatDuration(seconds: number, precise = false): string {
  if (precise && seconds < 59.95) return `${Math.max(0, seconds).toFixed(1)}s`;
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * The progress display of one run of `total` points, or a silent one when `option` is `false`.
 *
 * @example
 * const p = progressReporter({ mode: "lines" }, 100);
 * p.update(12, 0); // stderr: "12/100 points, eta 3s" (when a line is due)
 * p.stop();        // stderr: "100/100 points, done in 25s"
 */
export function progressReporter(option: boolean | ProgressOptions | undefined, total: number, now: () => number = Date.now): ProgressReporter {
  if (option === false) return silent;
  const options: ProgressOptions = option === true || option === undefined ? {} : option;
  const stream: ProgressStream = options.stream ?? process.stderr;
  const mode = options.mode ?? "auto";
  const useBar = mode === "bar" || (mode === "auto" && stream.isTTY === true);
  return useBar ? barReporter(stream, total, options.label) : lineReporter(stream, total, options, now);
}

function barReporter(stream: ProgressStream, total: number, label: string | undefined): ProgressReporter {
  const bar = new cliProgress.SingleBar({
    stream: stream as NodeJS.WritableStream,
    format: `${label ? `${label} ` : ""}[{bar}] {percentage}% | {value}/{total} points{failedText} | ETA {eta_formatted} | {duration_formatted}`,
    hideCursor: true,
    etaBuffer: 50,
    // redraw now and then even without a finished point, so the elapsed time moves
    etaAsynchronousUpdate: true,
    noTTYOutput: true,
  });
  bar.start(total, 0, { failedText: "" });
  let stopped = false;
  return {
    update(done, failed) {
      if (!stopped) bar.update(done, { failedText: failed ? `, ${failed} failed` : "" });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/**
 * Plain lines, for logs and pipes: a line at the start, then one when `everySeconds` have passed
 * since the last line or the count has crossed into a new `everyFraction` step (whichever comes
 * first; with the defaults at most one a second plus one per 10%), and a final line. The ETA is
 * the mean time per finished point times the points left.
 */
function lineReporter(stream: ProgressStream, total: number, options: ProgressOptions, now: () => number): ProgressReporter {
  const everyMs = (options.everySeconds ?? 1) * 1000;
  const fraction = options.everyFraction ?? 0.1;
  const prefix = options.label ? `${options.label}: ` : "";
  const started = now();
  let lastLine = started;
  let lastStep = 0;
  let state = { done: 0, failed: 0 };
  let stopped = false;
  const step = (done: number) => (fraction > 0 && total > 0 ? Math.floor(done / total / fraction + 1e-9) : 0);
  const failedText = (failed: number) => (failed ? `, ${failed} failed` : "");
  stream.write(`${prefix}0/${total} points\n`);
  return {
    update(done, failed) {
      state = { done, failed };
      if (stopped || done >= total) return; // the final line is stop()'s
      const t = now();
      const s = step(done);
      if (t - lastLine < everyMs && s <= lastStep) return;
      lastLine = t;
      lastStep = s;
      const eta = done > 0 ? ((t - started) / done) * (total - done) / 1000 : undefined;
      stream.write(`${prefix}${done}/${total} points${failedText(failed)}, eta ${eta === undefined ? "?" : formatDuration(eta)}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      const elapsed = formatDuration((now() - started) / 1000, true);
      stream.write(`${prefix}${state.done}/${total} points${failedText(state.failed)}, ${state.done >= total ? "done" : "stopped"} in ${elapsed}\n`);
    },
  };
}
