/**
 * `memweb`: each record POSTed as JSON to a URL, with retries, and a local spool for the records the
 * endpoint did not take, resent in order later. An experiment never dies of, and never loses a
 * record to, a server that is down.
 */
import path from "node:path";
import type { LoggerOf } from "../../types/logger.js";
import { postWithRetry, retryPolicy, type RetryPolicy } from "../../runtime/transport/http.js";
import { LoggerError, toJsonLine, wrapLogged } from "./record.js";
import { onShutdown } from "../../runtime/shutdown.js";
import { Spool } from "../../runtime/transport/spool.js";

/**
 * Options of `memweb`.
 *
 * @example
 * const options: MemwebOptions = { url: "http://127.0.0.1:8080/records", retries: 5, backoffMs: 100, spoolPath: ".memopipe/records-spool.jsonl" };
 */
export interface MemwebOptions {
  /** Where each record is POSTed, as JSON (`content-type: application/json`). */
  readonly url: string;
  /** Retries of one POST after the first attempt, on a non-2xx status, a network error or a timeout. Default 3. */
  readonly retries?: number;
  /** Wait before the first retry, doubled before each next one (capped at 10 s). Default 200 ms. */
  readonly backoffMs?: number;
  /** Give up on one attempt after this long. Default 5000 ms. */
  readonly timeoutMs?: number;
  /**
   * The JSON-lines file of records not delivered yet. Default `.memopipe/memweb-spool.jsonl` (under
   * the working directory). One spool per endpoint: give each URL its own when logging to several.
   */
  readonly spoolPath?: string;
  /**
   * After a failed delivery, new records go straight to the spool (the call does not wait on a
   * server that is down) and the spool is resent by the first call after this long, by a timer, or
   * at once by `flush()`. Default 5000 ms.
   */
  readonly resendAfterMs?: number;
  /** Extra request headers (e.g. `authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * What `flush()` reports.
 *
 * @example
 * const { delivered, spooled }: FlushReport = await web.flush(); // spooled > 0: the endpoint is still down
 */
export interface FlushReport {
  /** Records from the spool delivered by this flush. */
  readonly delivered: number;
  /** Records still in the spool (the endpoint is still failing), `0` when everything was delivered. */
  readonly spooled: number;
}

/**
 * The `flush` a `memweb` logger and the functions it wraps carry.
 *
 * @example
 * const f = memweb({ url })(async ({ n }: { n: number }) => ({ sq: n * n }));
 * await f.flush(); // typeof f: typeof fn & MemwebFlush
 */
export interface MemwebFlush {
  /**
   * Waits for deliveries in flight, then resends every spooled record in order (now, whatever
   * `resendAfterMs` says). Never rejects.
   */
  flush(): Promise<FlushReport>;
}

/**
 * A `memweb` logger: the decorator, with `flush()`.
 *
 * @example
 * const web: MemwebLogger<any> = memweb({ url: "http://127.0.0.1:8080" });
 * await web.flush();
 */
export type MemwebLogger<Rec> = LoggerOf<Rec, "memweb<Rec>", MemwebFlush> & MemwebFlush;

type Outcome = "delivered" | "spooled";
interface Item {
  readonly line: string;
  readonly done: (outcome: Outcome) => void;
}

/** One endpoint and its spool; shared by every `memweb` logger with the same URL and spool path. */
class Channel {
  private queue: Item[] = [];
  private inflight: Item | undefined;
  private running: Promise<void> | undefined;
  private downUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly url: string,
    readonly spool: Spool,
    private readonly policy: RetryPolicy,
    private readonly resendAfterMs: number,
    private readonly headers: Readonly<Record<string, string>>,
  ) {}

  /** Queues one JSON line; resolves once it is delivered or safe in the spool. */
  deliver(line: string): Promise<Outcome> {
    return new Promise<Outcome>((done) => {
      this.queue.push({ line, done });
      this.kick();
    });
  }

  async flush(): Promise<FlushReport> {
    while (this.running) await this.running;
    this.downUntil = 0;
    let delivered = 0;
    try {
      const result = await this.spool.drain((line) => this.send(line));
      delivered = result.delivered;
      if (!result.ok) this.markDown();
    } catch (e) {
      process.emitWarning(`memweb: could not resend the spool ${this.spool.file}: ${(e as Error).message}`);
    }
    return { delivered, spooled: this.spool.records().length };
  }

  /** When the process ends: records not delivered yet go to the spool (synchronously; again at exit if more came). */
  spoolUndelivered(): void {
    const items = [...(this.inflight ? [this.inflight] : []), ...this.queue.splice(0)];
    this.inflight = undefined;
    if (items.length > 0) this.spool.append(items.map((i) => i.line));
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.run()
      .catch((e: unknown) => {
        // Only a local failure (the spool cannot be written) gets here; say so, do not throw.
        process.emitWarning(`memweb: ${(e as Error).message}; records may be waiting in memory`);
      })
      .finally(() => {
        this.running = undefined;
        if (this.queue.length > 0) this.kick();
      });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.spool.hasRecords()) {
        // Records are waiting: new ones go behind them (order), then the spool is resent unless
        // the endpoint failed less than `resendAfterMs` ago.
        this.spoolQueue();
        if (Date.now() >= this.downUntil) {
          const result = await this.spool.drain((line) => this.send(line));
          if (!result.ok) this.markDown();
        }
        continue;
      }
      const item = this.queue.shift()!;
      this.inflight = item;
      const ok = await this.send(item.line);
      this.inflight = undefined;
      if (ok) item.done("delivered");
      else {
        this.spool.append([item.line]);
        item.done("spooled");
        this.markDown();
      }
    }
  }

  private spoolQueue(): void {
    const items = this.queue.splice(0);
    this.spool.append(items.map((i) => i.line));
    for (const i of items) i.done("spooled");
  }

  private markDown(): void {
    this.downUntil = Date.now() + this.resendAfterMs;
    if (this.timer) clearTimeout(this.timer);
    // Resend later even if no call comes; unref'd, so it never keeps the process alive.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.running && this.spool.hasRecords()) {
        this.running = this.spool
          .drain((line) => this.send(line))
          .then((r) => {
            if (!r.ok) this.markDown();
          })
          .catch(() => {})
          .finally(() => {
            this.running = undefined;
            if (this.queue.length > 0) this.kick();
          });
      }
    }, this.resendAfterMs);
    this.timer.unref();
  }

  private async send(line: string): Promise<boolean> {
    return (await postWithRetry(this.url, line.endsWith("\n") ? line.slice(0, -1) : line, this.headers, this.policy)).ok;
  }
}

const channels = new Map<string, Channel>();
let shutdownHook: (() => void) | undefined;

function channelFor(options: MemwebOptions): Channel {
  const spoolPath = path.resolve(options.spoolPath ?? path.join(".memopipe", "memweb-spool.jsonl"));
  const key = `${spoolPath}\n${options.url}`;
  const existing = channels.get(key);
  if (existing) return existing;
  for (const other of channels.values()) {
    if (other.spool.file === spoolPath && other.url !== options.url) {
      process.emitWarning(
        `memweb: ${options.url} and ${other.url} share the spool ${spoolPath}; records spooled for one may be resent to the other. Give each URL its own spoolPath.`,
      );
    }
  }
  const channel = new Channel(
    options.url,
    new Spool(spoolPath),
    retryPolicy({ timeoutMs: 5_000, ...options }),
    typeof options.resendAfterMs === "number" && options.resendAfterMs >= 0 ? options.resendAfterMs : 5_000,
    options.headers ?? {},
  );
  channels.set(key, channel);
  // Records not delivered yet go to the spool when the process ends: at exit, and also on Ctrl-C or
  // SIGTERM, which run no exit handler (runtime/shutdown.ts). Kept for the process's life: a
  // sync function's record is sent in the background, so one may be waiting at any time.
  shutdownHook ??= onShutdown(() => {
    for (const c of channels.values()) {
      try {
        c.spoolUndelivered();
      } catch {
        // nothing more can be done at exit
      }
    }
  });
  return channel;
}

/**
 * Logs each call's record with an HTTP POST of its JSON (`content-type: application/json`) to `url`
 * (memo's `memweb`, which sent form data and ignored errors). A non-2xx status or a network error
 * is retried with exponential backoff (`retries`, `backoffMs`); a record the endpoint still does
 * not take is appended to a local spool (JSON lines, `spoolPath`) and the call goes on: the
 * function's value is returned and nothing is thrown. Spooled records are resent in order, before
 * newer ones, by a later call or by `await logger.flush()` (also on each wrapped function).
 *
 * A sync function returns at once and its record is sent in the background (records not sent at
 * process exit are spooled); an async function's promise resolves once its record is delivered or
 * spooled. Any record is accepted; give the record type to check it: `memweb<Row>({ url })`.
 *
 * @example
 * const web = memweb({ url: "http://127.0.0.1:8080/records", retries: 3 });
 * const sim = web(async ({ classSize }: { classSize: number }) => ({ estProba: await simulate(classSize) }));
 * await sim({ classSize: 23 }); // POST {"classSize":23,"estProba":0.507}
 * await web.flush(); // { delivered: 0, spooled: 0 }: nothing waiting
 */
export function memweb<Rec = any>(options: MemwebOptions): MemwebLogger<Rec> {
  const url = options?.url;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(parsed.protocol);
  } catch {
    throw new LoggerError(`memweb({ url }): url must be an http: or https: URL, got ${JSON.stringify(url)}`);
  }
  const channel = channelFor(options);
  const flush = (): Promise<FlushReport> => channel.flush();
  const decorate = (fn: (...args: any[]) => any) => {
    const wrapped = wrapLogged(
      fn,
      (record) => {
        const line = toJsonLine(record); // throws here, on the call, when the record is not JSON
        return channel.deliver(line).then(() => {});
      },
      "memweb",
    );
    return Object.assign(wrapped, { flush });
  };
  return Object.assign(decorate, { flush }) as unknown as MemwebLogger<Rec>;
}
