/**
 * Connections to Redis for the parts of memopipe that use it (`RedisStore`, the `bullmq` Runner,
 * `memopipe worker`). ioredis is an optional peer dependency, imported on first use: a program
 * that never talks to Redis never loads it, and one that does without it installed gets a
 * `MissingPackageError` with the `npm install` line.
 *
 * A connection is given as a URL (`redis://[user:password@]host:port[/db]`, `rediss://` for TLS),
 * as options (`{ host, port, password, db, tls }`), or as an ioredis client the caller made (then
 * memopipe duplicates it for the connections it needs, and never closes the caller's client).
 *
 * Why memopipe makes its own connections rather than sharing one: a blocking command (BullMQ's
 * workers and event readers wait on the server) or a subscription (the store's claim waiters)
 * takes a connection for itself; and the store wants commands that fail fast when Redis is away
 * (a cache that cannot be read is a miss, not a hang), while BullMQ's must wait for the server to
 * come back (`maxRetriesPerRequest: null`, which BullMQ requires of its workers' connections).
 */
import type { Redis, RedisOptions } from "ioredis";
import { MemopipeError } from "../errors.js";
import { importOptional } from "../optional-package.js";

/**
 * How to reach Redis: options of a connection (the common ones; any other ioredis option passes
 * through).
 *
 * @example
 * const options: RedisConnectionOptions = { host: "10.0.0.5", port: 6379, password: process.env.REDIS_PASSWORD };
 */
export interface RedisConnectionOptions {
  readonly host?: string;
  readonly port?: number;
  readonly username?: string;
  readonly password?: string;
  readonly db?: number;
  /** TLS options (`{}` for TLS with the system's CAs). */
  readonly tls?: object;
  /** A Unix socket instead of host and port. */
  readonly path?: string;
  readonly [option: string]: unknown;
}

/**
 * An ioredis client made by the caller (typed by what memopipe uses of it, so that memopipe's
 * declarations do not need ioredis's).
 *
 * @example
 * import { Redis } from "ioredis";
 * const client: RedisClientLike = new Redis(6379);
 */
export interface RedisClientLike {
  duplicate(override?: object): unknown;
  readonly options: object;
}

/**
 * Where Redis is: a URL (`redis://host:port/db`), connection options, or an ioredis client.
 *
 * @example
 * const where: RedisConnection = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
 */
export type RedisConnection = string | RedisConnectionOptions | RedisClientLike;

/** What a connection is for: commands that fail fast, or BullMQ's (which wait for Redis forever). */
export type ConnectionRole = "commands" | "subscriber" | "bullmq";

/** The ioredis constructor, loaded once. */
let redisClass: Promise<typeof Redis> | undefined;

/**
 * The ioredis `Redis` class, imported on first use.
 *
 * @throws MissingPackageError when ioredis is not installed.
 * @example
 * const Redis = await loadIoredis();
 */
export function loadIoredis(): Promise<typeof Redis> {
  redisClass ??= importOptional<{ Redis?: typeof Redis; default?: typeof Redis | { Redis?: typeof Redis } }>("redis", "ioredis").then((mod) => {
    const ctor = mod.Redis ?? (typeof mod.default === "function" ? mod.default : mod.default?.Redis);
    if (typeof ctor !== "function") throw new MemopipeError("the installed ioredis exports no Redis class (memopipe needs ioredis 5)");
    return ctor;
  });
  // a failed import is not cached: installing the package and calling again works
  redisClass.catch(() => (redisClass = undefined));
  return redisClass;
}

/**
 * Whether `connection` is a client the caller made.
 *
 * @example
 * isClient(new Redis()); // true
 * isClient("redis://localhost"); // false
 */
export function isClient(connection: unknown): connection is RedisClientLike & Redis {
  return (
    connection !== null &&
    typeof connection === "object" &&
    typeof (connection as { duplicate?: unknown }).duplicate === "function" &&
    typeof (connection as { options?: unknown }).options === "object"
  );
}

/** The options each role adds. */
function roleOptions(role: ConnectionRole): RedisOptions {
  switch (role) {
    case "commands":
      // A command waits for at most two reconnection attempts, then fails: the store turns that
      // into a miss (reads) or a warning (writes); a sweep never hangs on its cache.
      return { maxRetriesPerRequest: 2, connectTimeout: 5_000, enableAutoPipelining: false };
    case "subscriber":
      return { maxRetriesPerRequest: null, connectTimeout: 5_000 };
    case "bullmq":
      return { maxRetriesPerRequest: null, connectTimeout: 5_000 };
  }
}

/**
 * Opens a connection for `role`. A caller's client is duplicated (with the role's options), so its
 * own settings (host, password, TLS) carry over and it is never used for blocking commands.
 *
 * @example
 * const client = await openConnection("redis://127.0.0.1:6379", "commands");
 * await client.ping(); client.disconnect();
 */
export async function openConnection(connection: RedisConnection | undefined, role: ConnectionRole): Promise<Redis> {
  const Redis = await loadIoredis();
  const extra = roleOptions(role);
  if (isClient(connection)) return connection.duplicate(extra) as Redis;
  if (connection === undefined) return new Redis(extra);
  if (typeof connection === "string") {
    if (!/^rediss?:\/\//.test(connection)) {
      throw new MemopipeError(`a Redis connection URL starts with redis:// or rediss://, got '${redact(connection)}'`);
    }
    return new Redis(connection, extra);
  }
  if (typeof connection !== "object" || connection === null) {
    throw new MemopipeError(`a Redis connection is a URL, connection options or an ioredis client, got ${connection === null ? "null" : typeof connection}`);
  }
  return new Redis({ ...(connection as RedisOptions), ...extra });
}

/**
 * The options BullMQ gets for `connection`: its own connections are made by BullMQ from these
 * (`maxRetriesPerRequest: null`, as its workers require).
 *
 * @example
 * new Worker("q", processor, { connection: bullmqConnection("redis://127.0.0.1:6379") });
 */
export function bullmqConnection(connection: RedisConnection | undefined): RedisOptions {
  const extra = roleOptions("bullmq");
  if (isClient(connection)) return { ...(connection.options as RedisOptions), ...extra };
  if (connection === undefined) return extra;
  if (typeof connection === "string") return { ...parseRedisUrl(connection), ...extra };
  return { ...(connection as RedisOptions), ...extra };
}

/**
 * Connection options from a `redis://` URL (what ioredis accepts as its first argument, for the
 * places that take options only).
 *
 * @example
 * parseRedisUrl("redis://:pw@10.0.0.5:6380/2"); // { host: "10.0.0.5", port: 6380, password: "pw", db: 2 }
 */
export function parseRedisUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MemopipeError(`not a Redis URL: '${redact(url)}' (write redis://host:port)`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") throw new MemopipeError(`a Redis connection URL starts with redis:// or rediss://, got '${redact(url)}'`);
  const options: RedisOptions = {};
  if (parsed.hostname) options.host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (parsed.port) options.port = Number(parsed.port);
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace(/^\//, "");
  if (db) {
    if (!/^\d+$/.test(db)) throw new MemopipeError(`the database in a Redis URL is a number (redis://host:port/2), got '${db}'`);
    options.db = Number(db);
  }
  if (parsed.protocol === "rediss:") options.tls = {};
  return options;
}

/**
 * A connection as people read it, without its password: `redis://10.0.0.5:6379/2`.
 *
 * @example
 * describeConnection({ host: "10.0.0.5", port: 6380, password: "secret" }); // "redis://10.0.0.5:6380"
 */
export function describeConnection(connection: RedisConnection | undefined): string {
  let o: { host?: unknown; port?: unknown; db?: unknown; path?: unknown; tls?: unknown };
  if (isClient(connection)) o = connection.options as typeof o;
  else if (typeof connection === "string") {
    try {
      o = parseRedisUrl(connection);
    } catch {
      return redact(connection);
    }
  } else o = (connection ?? {}) as typeof o;
  if (typeof o.path === "string") return `redis+unix://${o.path}`;
  const host = typeof o.host === "string" && o.host ? o.host : "127.0.0.1";
  const port = typeof o.port === "number" ? o.port : 6379;
  const db = typeof o.db === "number" && o.db !== 0 ? `/${o.db}` : "";
  return `${o.tls ? "rediss" : "redis"}://${host.includes(":") ? `[${host}]` : host}:${port}${db}`;
}

/** A URL with its password replaced by `***`. */
function redact(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, "//$1:***@");
}

const held = new WeakMap<object, { hold: boolean }>();

/**
 * Whether an open connection keeps the process alive. A Runner's connections do while a run is
 * under way and not in between, so a program that forgets `runner.close()` still exits, and one
 * that runs many sweeps keeps its connections (no reconnection per run). Applied again after every
 * reconnection (a new socket).
 *
 * @example
 * holdProcess(client, false); // idle: the process may exit
 */
export function holdProcess(client: unknown, hold: boolean): void {
  const c = client as { stream?: { ref?: () => void; unref?: () => void }; on?: (event: string, listener: () => void) => void } | null;
  if (!c || typeof c !== "object") return;
  let state = held.get(c);
  if (!state) {
    state = { hold };
    held.set(c, state);
    const s = state;
    c.on?.("connect", () => (s.hold ? c.stream?.ref?.() : c.stream?.unref?.()));
  }
  state.hold = hold;
  if (hold) c.stream?.ref?.();
  else c.stream?.unref?.();
}
