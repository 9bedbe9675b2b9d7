import { onShutdown } from "../shutdown.js";

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
  /** The terminal's width; the bar fits in it (default 80). */
  readonly columns?: number | undefined;
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
  return useBar ? barReporter(stream, total, options.label, now) : lineReporter(stream, total, options, now);
}

/**
 * The bar on a terminal, redrawn in place on one line (`\r`, then the line, then "erase to the end
 * of the line"), never wider than the terminal minus one column, so it never wraps (a wrapped line
 * cannot be redrawn in place) and needs no "wrapping off" mode. The cursor is hidden while the bar
 * draws; the terminal gets it back when the run ends, and also on Ctrl-C or SIGTERM (a shutdown
 * cleanup: ../shutdown.ts). Redraws at most every 100 ms, and once a second without a finished point
 * so that the elapsed time moves.
 *
 * Hand-written rather than cli-progress: that bar cuts its line at the terminal's width, so a
 * narrow terminal lost the count and the ETA first; here the parts go in order of importance
 * (see {@link barLine}), and the module loads nothing.
 */
function barReporter(stream: ProgressStream, total: number, label: string | undefined, now: () => number): ProgressReporter {
  const started = now();
  let state = { done: 0, failed: 0 };
  let stopped = false;
  let lastDraw = -Infinity;
  const columns = () => (typeof stream.columns === "number" && stream.columns > 0 ? stream.columns : 80);
  const draw = () => {
    const t = now();
    lastDraw = t;
    const elapsed = (t - started) / 1000;
    const eta = state.done > 0 ? (elapsed / state.done) * (total - state.done) : undefined;
    stream.write(`\r${barLine({ label, total, ...state, eta, elapsed }, columns() - 1)}${ERASE_LINE_END}`);
  };
  const finish = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    offShutdown();
    draw();
    stream.write(`\n${SHOW_CURSOR}`);
  };
  stream.write(HIDE_CURSOR);
  // Whatever ends the process (Ctrl-C, kill, exit) gives the terminal its cursor back on a fresh line.
  const offShutdown = onShutdown(finish);
  const timer = setInterval(draw, 1000);
  timer.unref();
  draw();
  return {
    update(done, failed) {
      if (stopped) return;
      state = { done, failed };
      if (done >= total || now() - lastDraw >= 100) draw();
    },
    stop: finish,
  };
}

const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const ERASE_LINE_END = "\x1b[K";

/**
 * One state of the bar, fitted to `width` columns. In full:
 * `label [██████░░░░░░] 42% | 42/100 points, 3 failed | ETA 12s | 4.1s`.
 * When it does not fit, the bar shrinks (to 10 cells), then the parts go, least useful first: the
 * elapsed time, the bar, the percentage, the label, the ETA; the count stays (cut only below ~15
 * columns).
 *
 * @example
 * barLine({ total: 100, done: 42, failed: 0, eta: 12, elapsed: 4.1 }, 49);
 * // "[████░░░░░░] 42% | 42/100 points | ETA 12s | 4.1s"
 */
export function barLine(
  s: { label?: string | undefined; total: number; done: number; failed: number; eta: number | undefined; elapsed: number },
  width: number,
): string {
  const fraction = s.total > 0 ? Math.min(1, s.done / s.total) : 1;
  const parts = {
    label: s.label ?? "",
    pct: `${Math.floor(fraction * 100)}%`,
    count: `${s.done}/${s.total} points${s.failed ? `, ${s.failed} failed` : ""}`,
    eta: s.done >= s.total ? "done" : `ETA ${s.eta === undefined ? "?" : formatDuration(s.eta)}`,
    elapsed: formatDuration(s.elapsed, true),
  };
  const show = { label: parts.label !== "", bar: true, pct: true, eta: true, elapsed: true };
  const layout = (cells: number) => {
    const head = [show.label ? parts.label : "", show.bar ? `[${"█".repeat(Math.round(fraction * cells))}${"░".repeat(cells - Math.round(fraction * cells))}]` : "", show.pct ? parts.pct : ""]
      .filter((p) => p !== "")
      .join(" ");
    return [head, parts.count, show.eta ? parts.eta : "", show.elapsed ? parts.elapsed : ""].filter((p) => p !== "").join(" | ");
  };
  for (const drop of [undefined, "elapsed", "bar", "pct", "label", "eta"] as const) {
    if (drop) show[drop] = false;
    if (show.bar) {
      const spare = width - layout(0).length;
      if (spare >= 10) return layout(Math.min(40, spare));
      continue;
    }
    const line = layout(0);
    if (line.length <= width) return line;
  }
  return parts.count.slice(0, Math.max(0, width));
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
