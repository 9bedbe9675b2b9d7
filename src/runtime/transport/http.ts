/**
 * HTTP for the web loggers: one JSON POST over node:http(s) with a keep-alive agent, and the same
 * with bounded retries and exponential backoff. Never throws: the outcome says what happened.
 */
import type { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * How hard to try before giving up on one request.
 *
 * @example
 * const policy: RetryPolicy = { retries: 3, backoffMs: 200, maxBackoffMs: 10_000, timeoutMs: 5_000 };
 */
export interface RetryPolicy {
  /** Retries after the first attempt (so `retries + 1` attempts). */
  readonly retries: number;
  /** Wait before the first retry; doubled before each next one. */
  readonly backoffMs: number;
  /** Cap of one wait. */
  readonly maxBackoffMs: number;
  /** Give up on one attempt after this long (no response). */
  readonly timeoutMs: number;
}

/**
 * The outcome of a POST: a 2xx response, or why it failed (the last attempt's status or error).
 *
 * @example
 * const out: PostOutcome = await postWithRetry(url, "{}", {}, policy);
 * if (!out.ok) console.warn(`gave up after ${out.attempts} attempts: ${out.error}`);
 */
export type PostOutcome =
  | { readonly ok: true; readonly status: number; readonly body: string; readonly attempts: number }
  | { readonly ok: false; readonly status: number | undefined; readonly error: string; readonly attempts: number };

// node:http and node:https (with tls and net: ~5 ms) are loaded on the first POST, not when
// memopipe is imported: a program that never logs to the web never loads them.
// process.getBuiltinModule is synchronous and invisible to bundlers, which leave it alone.
type Protocol = "http:" | "https:";
const agents = new Map<Protocol, Agent>();
function client(protocol: Protocol): { lib: typeof import("node:http"); agent: Agent } {
  const lib = process.getBuiltinModule(protocol === "https:" ? "node:https" : "node:http") as typeof import("node:http");
  let agent = agents.get(protocol);
  if (!agent) agents.set(protocol, (agent = new lib.Agent({ keepAlive: true, maxSockets: 16 })));
  return { lib, agent };
}

/**
 * One POST; resolves with the status and body, rejects on a network error or timeout.
 *
 * @example
 * const { status, body } = await postOnce("http://127.0.0.1:8080/r", '{"a":1}', {}, 5_000);
 */
export function postOnce(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch (e) {
      reject(e);
      return;
    }
    const isHttps = target.protocol === "https:";
    if (!isHttps && target.protocol !== "http:") {
      reject(new Error(`unsupported protocol ${target.protocol} (http: or https:)`));
      return;
    }
    const payload = Buffer.from(body, "utf8");
    const { lib, agent } = client(isHttps ? "https:" : "http:");
    const req = lib.request(
      target,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": String(payload.length), ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * POSTs `body` (JSON) until a 2xx response, at most `retries + 1` times, waiting `backoffMs`,
 * `2 × backoffMs`, `4 × backoffMs`… (each capped at `maxBackoffMs`) between attempts. Any non-2xx
 * status and any network error or timeout is retried. `accept` can refuse a 2xx response (a
 * GraphQL body with `errors`), which then counts as a failure.
 *
 * @example
 * const out = await postWithRetry("http://127.0.0.1:8080/r", '{"a":1}', {}, retryPolicy({ retries: 2 }));
 * out.ok; // true once a 2xx came back
 */
export async function postWithRetry(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  policy: RetryPolicy,
  accept: (body: string) => string | undefined = () => undefined,
): Promise<PostOutcome> {
  let last: { status: number | undefined; error: string } = { status: undefined, error: "not sent" };
  for (let attempt = 0; attempt <= policy.retries; attempt++) {
    if (attempt > 0) await sleep(Math.min(policy.backoffMs * 2 ** (attempt - 1), policy.maxBackoffMs));
    try {
      const res = await postOnce(url, body, headers, policy.timeoutMs);
      if (res.status >= 200 && res.status < 300) {
        const refused = accept(res.body);
        if (refused === undefined) return { ok: true, status: res.status, body: res.body, attempts: attempt + 1 };
        last = { status: res.status, error: refused };
      } else {
        last = { status: res.status, error: `HTTP ${res.status}` };
      }
    } catch (e) {
      last = { status: undefined, error: (e as Error).message || String(e) };
    }
  }
  return { ok: false, ...last, attempts: policy.retries + 1 };
}

/**
 * Reads a retry policy from user options, with defaults and bounds (never negative, never unbounded).
 *
 * @example
 * retryPolicy({ retries: 5 }); // { retries: 5, backoffMs: 200, maxBackoffMs: 10000, timeoutMs: 10000 }
 */
export function retryPolicy(options: { retries?: number; backoffMs?: number; maxBackoffMs?: number; timeoutMs?: number }): RetryPolicy {
  const num = (v: unknown, fallback: number, max: number): number =>
    typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.min(v, max) : fallback;
  return {
    retries: Math.floor(num(options.retries, 3, 20)),
    backoffMs: num(options.backoffMs, 200, 60_000),
    maxBackoffMs: num(options.maxBackoffMs, 10_000, 300_000),
    timeoutMs: num(options.timeoutMs, 10_000, 600_000) || 10_000,
  };
}
