/**
 * `claim()` for the Redis store: compute a key once across machines (SPEC: "a computation already
 * under way for the same key elsewhere is awaited, not repeated").
 *
 * ## The protocol
 * A claim is a lock key, `SET lock <owner> NX PX <lease>`: exactly one caller creates it. The
 * owner value names the host, the pid (and the pid's start time) and a random token. While it
 * computes, the owner renews the lease every `lease / 3` (a script that extends it only if it
 * still holds its own value). It publishes the entry, then releases: a script deletes the lock if
 * it is still its own and PUBLISHes on the key's channel, which wakes the waiters at once (the
 * issue measured 2–3 ms from release to a woken waiter).
 *
 * A waiter subscribes to the key's channel *before* it looks at the state (so a release between
 * the look and the wait is not missed), then, in one script: is the entry there (done: read it)?
 * is the lock free (take it)? else the lock's owner and its remaining lease. It sleeps until a
 * message or until the lease would run out, and looks again. An owner that died stops renewing:
 * Redis expires its lock when the lease runs out, and the next look takes it — a takeover at most
 * one lease after the owner's last renewal (plus a few ms). On the owner's own host a dead pid is
 * seen at once (as the directory store does) and its lock removed without waiting for the lease.
 *
 * An owner whose event loop is blocked (a long synchronous stage) cannot renew; it may be taken
 * over and the work done twice — time lost, never a wrong value: publishing is first-writer-wins.
 */
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { createHash, randomBytes } from "../lazy-builtins.js";
import { isAlive, processStart } from "./dir-claim.js";
import type { ScriptCommands } from "./redis-scripts.js";
import type { Claim, ClaimOptions } from "./types.js";

const HOST = hostname();
let selfStart: string | undefined | null = null;

/** The keys of one claim. */
export interface ClaimKeys {
  readonly lock: string;
  readonly entry: string;
  readonly channel: string;
}

/** The waiting side's state script: done, taken, or who holds it and for how long. */
export const CLAIM_STATE_SCRIPT = {
  numberOfKeys: 2,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return {1} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {2} end
return {3, redis.call('GET', KEYS[2]), redis.call('PTTL', KEYS[2])}`,
} as const;

type Commands = Redis & ScriptCommands & { memopipeClaimState(entry: string, lock: string, owner: string, leaseMs: number): Promise<[1] | [2] | [3, string | null, number]> };

/** Subscriptions shared by the waiters of one store: one connection, a channel per waited key. */
class Wakeups {
  private readonly waiting = new Map<string, Set<() => void>>();
  private subscriber: Promise<Redis> | undefined;

  constructor(private readonly connect: () => Promise<Redis>) {}

  /**
   * Subscribes to `channel` (confirmed by the server when this resolves); `wait` then sleeps until
   * a message (resolving true: woken), the timeout or the signal (false).
   */
  async listen(channel: string): Promise<{ wait(ms: number, signal?: ClaimOptions["signal"]): Promise<boolean>; close(): void }> {
    this.subscriber ??= this.connect().then((sub) => {
      sub.on("message", (ch: string) => {
        for (const wake of this.waiting.get(ch) ?? []) wake();
      });
      return sub;
    });
    const sub = await this.subscriber;
    let wakers = this.waiting.get(channel);
    if (!wakers) {
      wakers = new Set();
      this.waiting.set(channel, wakers);
      await sub.subscribe(channel);
    }
    const set = wakers;
    let pending: (() => void) | undefined;
    let woken = false;
    const wake = () => {
      woken = true;
      pending?.();
    };
    set.add(wake);
    return {
      wait: async (ms, signal) => {
        if (woken) {
          woken = false;
          return true;
        }
        const controller = new AbortController();
        const onAbort = () => controller.abort();
        (signal as AbortSignal | undefined)?.addEventListener?.("abort", onAbort, { once: true });
        pending = () => controller.abort();
        try {
          await sleep(ms, undefined, { signal: controller.signal });
        } catch {
          // woken (or aborted: the caller checks its signal)
        } finally {
          pending = undefined;
          (signal as AbortSignal | undefined)?.removeEventListener?.("abort", onAbort);
        }
        const was = woken;
        woken = false;
        return was;
      },
      close: () => {
        set.delete(wake);
        if (set.size === 0 && this.waiting.get(channel) === set) {
          this.waiting.delete(channel);
          void sub.unsubscribe(channel).catch(() => undefined);
        }
      },
    };
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    this.waiting.clear();
    if (sub) (await sub.catch(() => undefined))?.disconnect();
  }
}

/**
 * The claims of one Redis store.
 *
 * @example
 * const claims = new RedisClaims(() => commands, () => openConnection(url, "subscriber"), 10_000);
 * const c = await claims.claim({ lock, entry, channel });
 */
export class RedisClaims {
  private readonly wakeups: Wakeups;

  constructor(
    private readonly commands: () => Promise<Commands>,
    subscriber: () => Promise<Redis>,
    private readonly defaultLeaseMs: number,
  ) {
    this.wakeups = new Wakeups(subscriber);
  }

  /** Claims a key: owned (compute, publish, release), or not owned once its entry exists (read it). */
  async claim(keys: ClaimKeys, options: ClaimOptions = {}): Promise<Claim> {
    const leaseMs = Math.max(30, Math.floor(options.leaseMs ?? this.defaultLeaseMs));
    const client = await this.commands();
    if (selfStart === null) selfStart = processStart(process.pid);
    const owner = JSON.stringify({ host: HOST, pid: process.pid, pidStart: selfStart, token: randomBytes(8).toString("hex") });
    const started = Date.now();
    if ((await client.set(keys.lock, owner, "PX", leaseMs, "NX")) === "OK") return this.owned(client, keys, owner, leaseMs, 0);
    const listener = await this.wakeups.listen(keys.channel);
    try {
      for (;;) {
        options.signal?.throwIfAborted();
        const state = await client.memopipeClaimState(keys.entry, keys.lock, owner, leaseMs);
        if (state[0] === 1) return { owned: false, waitedMs: Date.now() - started, release: noop };
        if (state[0] === 2) return this.owned(client, keys, owner, leaseMs, Math.max(1, Date.now() - started));
        const [, holder, pttl] = state;
        const local = holder !== null ? localOwner(holder) : undefined;
        if (local && !isAlive(local)) {
          await client.memopipeDeleteIf(keys.lock, sha1(holder!));
          continue;
        }
        // Sleep until a release wakes us, or until the lease would run out (then look again: a
        // renewed lease means another sleep, an expired one a takeover). An owner on this host is
        // watched meanwhile (a local check every 100 ms, no round trip): its death ends the sleep.
        const until = Date.now() + Math.min(Math.max(pttl, 0) + 5, leaseMs);
        for (;;) {
          const left = until - Date.now();
          if (left <= 0) break;
          if (await listener.wait(local ? Math.min(left, 100) : left, options.signal)) break;
          if (local && !isAlive(local)) break;
          options.signal?.throwIfAborted();
        }
      }
    } finally {
      listener.close();
    }
  }

  private owned(client: Commands, keys: ClaimKeys, owner: string, leaseMs: number, waitedMs: number): Claim {
    const renew = setInterval(() => {
      client.memopipeRenew(keys.lock, owner, leaseMs).catch(() => undefined);
    }, Math.max(10, Math.floor(leaseMs / 3)));
    renew.unref();
    let released = false;
    return {
      owned: true,
      waitedMs,
      release: () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        // Not awaited (release is synchronous in the contract); the store's close() waits for it.
        client.memopipeRelease(keys.lock, owner, keys.channel).catch(() => undefined);
      },
    };
  }

  /** Closes the subscriber connection. */
  close(): Promise<void> {
    return this.wakeups.close();
  }
}

function noop(): void {}

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

/** The owner of a lock, when it is a process on this host (whose death can be seen at once); otherwise the lease decides. */
function localOwner(holder: string): { pid: number; pidStart: string | undefined } | undefined {
  let owner: { host?: unknown; pid?: unknown; pidStart?: unknown };
  try {
    owner = JSON.parse(holder) as typeof owner;
  } catch {
    return undefined;
  }
  if (owner.host !== HOST || typeof owner.pid !== "number" || owner.pid <= 0) return undefined;
  return { pid: owner.pid, pidStart: typeof owner.pidStart === "string" ? owner.pidStart : undefined };
}
