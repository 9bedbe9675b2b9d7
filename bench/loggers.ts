/**
 * Per-record overhead of each logger against a bare call of the same function, in one run.
 *
 *   npx tsup && npx tsx bench/loggers.ts      (writes bench/.out/loggers.json)
 *
 * The function is the same small one everywhere (`({ n, label }) => ({ sq: n * n, tag: label })`).
 * Sync loggers (memlist, memfunc, memstdout to a null stream, memfile) are compared with a bare
 * sync call; the web loggers (memweb, memwandb) wrap the async variant and are compared with a bare
 * `await` of it, each call awaited in turn (so a record is delivered before the next call: the
 * overhead is one local HTTP round trip, keep-alive, to a node:http server in this process that
 * answers 200 at once — the server's own work is included). memfile appends to a file in the OS
 * temp directory (one open + write + close per record, as each line is appended whole).
 *
 * Measurement: each variant runs a batch of calls timed with `process.hrtime`; ns per call is
 * the batch time over the batch size; several rounds rotate the variant order and the median over
 * rounds is reported. Overhead = logged − bare; ratio = logged / bare.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { memfile, memfunc, memlist, memstdout, memwandb, memweb } from "memopipe";
import { runIfEntryPoint } from "./entry.js";

/** Options of `main`. */
export interface LoggersBenchOptions {
  /** Rounds (median over rounds). Default 5. */
  readonly rounds?: number;
  /** Print the table. Default true. */
  readonly print?: boolean;
  /** Where the JSON goes. Default bench/.out/loggers.json. */
  readonly outFile?: string;
}

/** One logger's figures. */
export interface LoggerResult {
  readonly name: string;
  readonly baseline: "bare sync call" | "bare async call";
  readonly nsPerCall: number;
  readonly baselineNsPerCall: number;
  readonly overheadNsPerRecord: number;
  readonly ratio: number;
  readonly rounds: number[];
}

type Args = { n: number; label: string };
const work = ({ n, label }: Args) => ({ sq: n * n, tag: label });
const workAsync = async ({ n, label }: Args) => ({ sq: n * n, tag: label });

interface Variant {
  readonly name: string;
  readonly kind: "sync" | "async";
  readonly batch: number;
  readonly run: (batch: number) => Promise<number> | number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function syncVariant(name: string, f: (a: Args) => { sq: number; tag: string }, batch: number): Variant {
  return {
    name,
    kind: "sync",
    batch,
    run: (b) => {
      let sink = 0;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < b; i++) sink += f({ n: i, label: "x" }).sq;
      const ns = Number(process.hrtime.bigint() - t0);
      if (sink === -1) console.log(sink);
      return ns;
    },
  };
}

function asyncVariant(name: string, f: (a: Args) => Promise<{ sq: number; tag: string }>, batch: number): Variant {
  return {
    name,
    kind: "async",
    batch,
    run: async (b) => {
      let sink = 0;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < b; i++) sink += (await f({ n: i, label: "x" })).sq;
      const ns = Number(process.hrtime.bigint() - t0);
      if (sink === -1) console.log(sink);
      return ns;
    },
  };
}

/** A local server answering 200 `{}` at once (and upsertBucket for memwandb); counts requests. */
async function localServer(): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const bucket = JSON.stringify({ data: { upsertBucket: { bucket: { id: "b", name: "bench", project: { name: "bench", entity: { name: "me" } } }, inserted: true } } });
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      requests++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(req.url === "/graphql" ? bucket : "{}");
    });
  });
  srv.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    count: () => requests,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** Runs the benchmark; prints a table and writes bench/.out/loggers.json. */
export async function main(options: LoggersBenchOptions = {}): Promise<LoggerResult[]> {
  const rounds = options.rounds ?? 5;
  const print = options.print ?? true;
  const here = dirname(fileURLToPath(import.meta.url));
  const outFile = options.outFile ?? join(here, ".out", "loggers.json");

  const dir = mkdtempSync(join(tmpdir(), "memopipe-bench-loggers-"));
  const server = await localServer();
  try {
    const list: unknown[] = [];
    let received = 0;
    const nullStream = new Writable({
      write(_chunk, _enc, cb) {
        cb();
      },
    });
    const variants: Variant[] = [
      syncVariant("bare (sync)", work, 20_000),
      syncVariant("memlist", memlist({ data: list })(work), 20_000),
      syncVariant("memfunc", memfunc(() => void received++)(work), 20_000),
      syncVariant("memstdout (null stream)", memstdout({ stream: nullStream })(work), 20_000),
      syncVariant("memfile", memfile({ path: join(dir, "bench.jsonl") })(work), 4_000),
      asyncVariant("bare (async)", workAsync, 20_000),
      asyncVariant("memweb (local server)", memweb({ url: `${server.url}/records`, spoolPath: join(dir, "spool.jsonl") })(workAsync), 1_000),
      asyncVariant(
        "memwandb (local imitation)",
        memwandb({ project: "bench", apiKey: "bench", baseUrl: server.url, runName: "bench" })(workAsync),
        1_000,
      ),
    ];

    // warm-up: JIT, file creation, the keep-alive connection, the W&B run
    for (const v of variants) await v.run(Math.min(v.batch, 500));

    const perRound = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    for (let r = 0; r < rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
      for (const v of order) {
        list.length = 0; // keep memlist's array from growing across rounds
        perRound.get(v.name)!.push((await v.run(v.batch)) / v.batch);
      }
      if (print && process.stdout.isTTY) process.stdout.write(`round ${r + 1}/${rounds} done\r`);
    }
    if (print && process.stdout.isTTY) process.stdout.write("\x1b[2K\r");

    const ns = (name: string): number => median(perRound.get(name)!);
    const bare = { sync: ns("bare (sync)"), async: ns("bare (async)") };
    const results: LoggerResult[] = variants
      .filter((v) => !v.name.startsWith("bare"))
      .map((v) => {
        const nsPerCall = ns(v.name);
        const base = bare[v.kind];
        return {
          name: v.name,
          baseline: v.kind === "sync" ? "bare sync call" : "bare async call",
          nsPerCall,
          baselineNsPerCall: base,
          overheadNsPerRecord: nsPerCall - base,
          ratio: nsPerCall / base,
          rounds: perRound.get(v.name)!,
        };
      });

    if (print) {
      console.log(`bare sync call: ${bare.sync.toFixed(1)} ns; bare async call (awaited): ${bare.async.toFixed(1)} ns  (median of ${rounds} rounds)`);
      console.log(`${"logger".padEnd(28)}${"ns/record".padStart(12)}${"overhead ns".padStart(14)}${"× bare".padStart(10)}`);
      for (const r of results) {
        console.log(
          `${r.name.padEnd(28)}${r.nsPerCall.toFixed(0).padStart(12)}${r.overheadNsPerRecord.toFixed(0).padStart(14)}${r.ratio.toFixed(1).padStart(10)}`,
        );
      }
      console.log(`(${server.count()} HTTP requests served; ${cpus().length} CPUs, Node ${process.version})`);
    }

    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(
      outFile,
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, rounds, bare, results }, null, 2)}\n`,
    );
    return results;
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfEntryPoint(import.meta.url, () => main());
