/**
 * How the `threads` Runner cuts a sweep into chunks: one message to a worker thread carries a
 * run of consecutive points, so that a tiny point does not pay a message round trip of its own.
 *
 * Why ~1 ms: a round trip (post, wake the thread, reply, wake the main thread) costs 10–30 µs
 * here. A chunk of 1 ms of work makes that ≤ 3 % of the work, while a chunk stays small enough
 * that the threads finish together (the last chunks shrink, see {@link ChunkSizer.next}) and that a
 * point stopped by its `timeout` costs the chunk's other points at most ~1 ms of work done again.
 */

/**
 * How many chunks the time per point is the median of. A median, not a mean: on a busy machine a
 * thread is now and then descheduled in the middle of a chunk, which then looks many times slower
 * than its points are; one such chunk must not shrink the next ones to a few points (a moving
 * average did, for a dozen chunks). A real change of speed shows in three chunks out of five.
 */
const WINDOW = 5;

/** Chunks hold at most this many points (a message of a few thousand small objects is still cheap to copy). */
export const MAX_CHUNK = 2000;

/**
 * The size of the next chunk. `"auto"`: one point per chunk until a chunk has come back, then as
 * many points as the time per point (measured on the threads: the median over the last five
 * chunks' replies, so it follows points that get slower or faster, but not one chunk that a busy
 * machine slowed) says fit in `targetMs`; a number: exactly that many.
 *
 * Near the end (auto), a chunk takes no more than an equal share of what is left among the chunks
 * in flight (but at least a quarter of the ~1 ms size), so the end of a sweep is not one thread
 * finishing a long chunk while the others idle, nor a run of one-point chunks. A fixed size is
 * kept to the end.
 *
 * @example
 * const sizer = new ChunkSizer("auto");
 * sizer.next(10_000, 4); // 1: nothing measured yet
 * sizer.observe(0.5, 50); // 50 points took 0.5 ms: 10 µs each
 * sizer.next(10_000, 4); // 100
 * sizer.next(200, 4);    // 50: the tail, an equal share
 */
export class ChunkSizer {
  /** The time per point of the last chunks (at most {@link WINDOW}), newest last. */
  readonly #recent: number[] = [];
  #perPointMs: number | undefined;
  readonly #fixed: number | undefined;
  readonly #targetMs: number;

  constructor(option: number | "auto", targetMs = 1) {
    this.#fixed = option === "auto" ? undefined : option;
    this.#targetMs = targetMs;
  }

  /** The next chunk's size, with `remaining` points not sent yet and `inFlight` chunks at once. */
  next(remaining: number, inFlight: number): number {
    if (this.#fixed !== undefined) return Math.max(1, Math.min(this.#fixed, remaining));
    const per = this.#perPointMs;
    if (per === undefined) return 1;
    const fit = Math.min(MAX_CHUNK, per > 0 ? Math.floor(this.#targetMs / per) : MAX_CHUNK);
    // the tail: an equal share for every chunk in flight, but never under a quarter of `fit`
    // (shares that shrink to a point each would pay a round trip per point again)
    const share = Math.max(Math.ceil(remaining / inFlight), Math.ceil(fit / 4));
    return Math.max(1, Math.min(fit, share));
  }

  /** A chunk of `points` points took `ms` milliseconds on its thread. */
  observe(ms: number, points: number): void {
    if (points <= 0 || !(ms >= 0)) return;
    const recent = this.#recent;
    recent.push(ms / points);
    if (recent.length > WINDOW) recent.shift();
    const sorted = [...recent].sort((a, b) => a - b);
    this.#perPointMs = sorted[(sorted.length - 1) >> 1];
  }
}

/**
 * The points not sent yet, as ranges of indices `[start, end)`: one range at the start, and
 * ranges put back at the front when a chunk has to go again (its thread was stopped or died).
 *
 * @example
 * const q = new RangeQueue(10);
 * q.take(4); // [0, 4]
 * q.putBack(2, 4);
 * q.take(5); // [2, 4]: what went back first
 */
export class RangeQueue {
  readonly #ranges: Array<[number, number]>;
  #remaining: number;

  constructor(n: number) {
    this.#ranges = n > 0 ? [[0, n]] : [];
    this.#remaining = n;
  }

  /** Points not taken yet. */
  get remaining(): number {
    return this.#remaining;
  }

  /** Up to `size` consecutive indices, as `[start, end]`, or undefined when none is left. */
  take(size: number): [number, number] | undefined {
    const first = this.#ranges[0];
    if (!first) return undefined;
    const start = first[0];
    const end = Math.min(first[1], start + size);
    if (end === first[1]) this.#ranges.shift();
    else first[0] = end;
    this.#remaining -= end - start;
    return [start, end];
  }

  /** Puts `[start, end)` back, to be taken next. */
  putBack(start: number, end: number): void {
    if (end <= start) return;
    this.#ranges.unshift([start, end]);
    this.#remaining += end - start;
  }
}
