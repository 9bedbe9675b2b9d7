/**
 * A real `redis-server` for a test: started on 127.0.0.1 on a free port, with its working directory
 * in a temp dir of its own, stopped by PID (and the temp dir removed) when the test file ends or
 * when `stop()` is called. `restart()` stops it (SIGKILL, as a crash) and starts it again on the
 * same port: without persistence (the default) everything in it is lost, as after a real restart.
 *
 * `redis-server` comes from apt (`apt-get install -y redis-server`, which `.ci/run` does).
 *
 * @example
 * const redis = await startRedis();
 * const store = new RedisStore({ connection: redis.url, namespace: "t" });
 * await redis.stop();
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** A running redis-server. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The server process's PID (changes on restart). */
  readonly pid: number;
  /** Kills the server (SIGKILL: a crash, nothing saved) and starts a new one on the same port. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Kills the server (SIGKILL) without starting it again; `start()` brings it back. */
  kill(): Promise<void>;
  /** Starts the server again after `kill()`. */
  start(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<RedisServer>();
afterAll(async () => {
  for (const server of [...running]) await server.stop();
});

/** A TCP port nobody listens on right now (the kernel's pick for port 0). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Spawns redis-server and resolves once it accepts connections (its log says so); rejects if it exits first. */
function launch(port: number, dir: string, extra: readonly string[]): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--protected-mode", "no", "--maxmemory-policy", "noeviction", ...extra],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server did not start within 10 s on port ${port}:\n${log}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes("Ready to accept connections")) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start redis-server (install it: apt-get install -y redis-server): ${e.message}`));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code ?? signal}) before it was ready on port ${port}:\n${log}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Starts a redis-server for this test file. `args` are extra server flags (e.g. `["--appendonly", "yes"]`).
 *
 * @example
 * const redis = await startRedis();
 */
export async function startRedis(args: readonly string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "memopipe-redis-"));
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, dir, args);
      break;
    } catch (error) {
      if (attempt >= 4) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      // another process took the port between the probe and the start: try another
    }
  }
  let stopped = false;
  const kill = async () => {
    if (!child) return;
    const c = child;
    child = undefined;
    process.kill(c.pid!, "SIGKILL");
    await exited(c);
  };
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? 0;
    },
    kill,
    async start() {
      if (child) return;
      for (let attempt = 0; ; attempt++) {
        try {
          child = await launch(port, dir, args);
          return;
        } catch (error) {
          // the port may linger for a moment after the kill
          if (attempt >= 20) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    async restart(options = {}) {
      await kill();
      if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
      await server.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(server);
      if (child) {
        const c = child;
        child = undefined;
        process.kill(c.pid!, "SIGTERM");
        const timer = setTimeout(() => c.kill("SIGKILL"), 3_000);
        await exited(c);
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(server);
  return server;
}
