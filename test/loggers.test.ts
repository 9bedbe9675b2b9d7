/**
 * The experiment loggers against real sinks: arrays, files (with concurrent writers), stdout, and
 * real HTTP servers on 127.0.0.1 (node:http, ephemeral ports), including one that fails, one that
 * is down, and a local imitation of the two W&B endpoints memwandb uses. No external network.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LoggerError, memfile, memfunc, memlist, memstdout, memwandb, memweb } from "../src/index.js";
import { tempDir } from "./helpers/temp.js";

const tmp = (): string => tempDir("memopipe-loggers-");
const readJsonLines = (file: string): unknown[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as unknown);

interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A node:http server on 127.0.0.1; `respond` decides each answer (status, body). */
async function server(
  respond: (req: Received, index: number) => { status: number; body?: string } = () => ({ status: 200 }),
  port = 0,
): Promise<{ url: string; port: number; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      const answer = respond(r, received.length);
      received.push(r);
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(answer.body ?? "{}");
    });
  });
  await new Promise<void>((resolve) => srv.listen(port, "127.0.0.1", resolve));
  const actual = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (listened on, then closed). */
async function closedPort(): Promise<number> {
  const s = await server();
  await s.close();
  return s.port;
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  vi.restoreAllMocks();
});

describe("the record", () => {
  it("is the named arguments merged with the result; the result wins on a clash; the value is returned unchanged", () => {
    const data: Record<string, unknown>[] = [];
    const result = { tag: "from result", score: 3 };
    const f = memlist({ data })(({ n, tag }: { n: number; tag: string }) => (n > 0 ? result : { tag, score: 0 }));
    expect(f({ n: 1, tag: "from args" })).toBe(result);
    expect(data).toEqual([{ n: 1, tag: "from result", score: 3 }]);
    expect(Object.keys(data[0]!)).toEqual(["n", "tag", "score"]);
    expect(data[0]).not.toBe(result);
    // a function of no argument: the record is the result
    const g = memlist({ data })(() => ({ only: true }));
    g();
    expect(data[1]).toEqual({ only: true });
    // an own "__proto__" key (JSON.parse makes them) is copied as data, not as a prototype
    const h = memlist({ data })(() => JSON.parse('{"__proto__": {"polluted": true}, "v": 1}') as { v: number });
    h();
    expect(Object.getPrototypeOf(data[2])).toBe(Object.prototype);
    expect(Object.keys(data[2]!)).toEqual(["__proto__", "v"]);
  });

  it("awaits an async function, then logs; the wrapper returns a promise of the same value", async () => {
    const data: Record<string, unknown>[] = [];
    const result = { p: 0.5 };
    const f = memlist({ data })(async ({ k }: { k: string }) => {
      await new Promise((r) => setTimeout(r, 5));
      expect(data).toEqual([]); // nothing logged before the function finished
      return result;
    });
    const out = f({ k: "a" });
    expect(out).toBeInstanceOf(Promise);
    expect(await out).toBe(result);
    expect(data).toEqual([{ k: "a", p: 0.5 }]);
  });

  it("lets the function's errors through and logs nothing", async () => {
    const data: unknown[] = [];
    const sync = memlist({ data })(({ n }: { n: number }): { r: number } => {
      throw new Error(`boom ${n}`);
    });
    expect(() => sync({ n: 1 })).toThrow("boom 1");
    const async_ = memlist({ data })(async ({ n }: { n: number }): Promise<{ r: number }> => {
      throw new Error(`async boom ${n}`);
    });
    await expect(async_({ n: 2 })).rejects.toThrow("async boom 2");
    expect(data).toEqual([]);
  });

  it("refuses, at run time, what the types refuse (plain JavaScript callers)", async () => {
    const data: unknown[] = [];
    const positional = memlist({ data })(((a: number) => ({ a })) as any);
    expect(() => positional(3)).toThrow(LoggerError);
    expect(() => positional(3)).toThrow("takes one object of named arguments");
    const number = memlist({ data })((() => 42) as any);
    expect(() => number({})).toThrow("but it returned a number");
    await expect(memlist({ data })((async () => [1]) as any)({})).rejects.toThrow("but it returned an array");
    expect(data).toEqual([]);
  });
});

describe("memfunc and memstdout", () => {
  it("memfunc calls the callback with each record; an async callback is awaited for an async function", async () => {
    const seen: unknown[] = [];
    const square = memfunc((r: { n: number; sq: number }) => seen.push(r))(({ n }: { n: number }) => ({ sq: n * n }));
    expect(square({ n: 3 })).toEqual({ sq: 9 });
    let done = false;
    const slow = memfunc(async (r: { n: number; sq: number }) => {
      await new Promise((res) => setTimeout(res, 10));
      seen.push(r);
      done = true;
    })(async ({ n }: { n: number }) => ({ sq: n * n }));
    await slow({ n: 4 });
    expect(done).toBe(true);
    expect(seen).toEqual([
      { n: 3, sq: 9 },
      { n: 4, sq: 16 },
    ]);
  });

  it("memstdout writes one JSON line per call on process.stdout", async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const f = memstdout()(({ n }: { n: number }) => ({ sq: n * n, at: new Date(0) }));
    f({ n: 2 });
    f({ n: 3 });
    await memstdout()(async ({ s }: { s: string }) => ({ len: s.length }))({ s: "abc" });
    vi.restoreAllMocks();
    expect(lines).toEqual([
      '{"n":2,"sq":4,"at":"1970-01-01T00:00:00.000Z"}\n',
      '{"n":3,"sq":9,"at":"1970-01-01T00:00:00.000Z"}\n',
      '{"s":"abc","len":3}\n',
    ]);
  });
});

describe("memfile", () => {
  it("appends one valid JSON line per call, converting what JSON cannot carry as memo's orjson did", async () => {
    const file = path.join(tmp(), "sub", "results.jsonl");
    const f = memfile({ path: file })(({ n }: { n: number }) => ({
      big: 2n ** 70n,
      arr: new Float64Array([1.5, 2]),
      set: new Set([1, 2]),
      map: new Map([["k", 1]]),
      none: null,
      skipped: undefined,
      nan: NaN,
      n,
    }));
    f({ n: 1 });
    await memfile({ path: file })(async ({ s }: { s: string }) => ({ t: [1, 2] }))({ s: "x" });
    expect(readFileSync(file, "utf8")).toBe(
      '{"n":1,"big":"1180591620717411303424","arr":[1.5,2],"set":[1,2],"map":{"k":1},"none":null,"nan":null}\n{"s":"x","t":[1,2]}\n',
    );
  });

  it("refuses a value JSON cannot carry (after the function ran), writing nothing", () => {
    const file = path.join(tmp(), "r.jsonl");
    let ran = 0;
    const f = memfile({ path: file })(({ n }: { n: number }) => {
      ran++;
      return { cb: () => n };
    });
    expect(() => f({ n: 1 })).toThrow("field 'cb' of the record is a function");
    expect(ran).toBe(1);
    expect(existsSync(file)).toBe(false);
  });

  it("never interleaves lines: 4 concurrent async writers of large records", async () => {
    const file = path.join(tmp(), "concurrent.jsonl");
    const write = memfile({ path: file })(async ({ writer, i }: { writer: number; i: number }) => {
      await new Promise((r) => setImmediate(r));
      return { payload: String.fromCharCode(97 + writer).repeat(20_000 + i) };
    });
    const perWriter = 100;
    await Promise.all(
      [0, 1, 2, 3].map(async (writer) => {
        // each writer keeps several calls in flight at once
        const inFlight: Promise<unknown>[] = [];
        for (let i = 0; i < perWriter; i++) inFlight.push(write({ writer, i }));
        await Promise.all(inFlight);
      }),
    );
    const text = readFileSync(file, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const rows = text
      .slice(0, -1)
      .split("\n")
      .map((l) => JSON.parse(l) as { writer: number; i: number; payload: string });
    expect(rows).toHaveLength(4 * perWriter);
    for (const r of rows) expect(r.payload).toBe(String.fromCharCode(97 + r.writer).repeat(20_000 + r.i));
    for (const w of [0, 1, 2, 3]) expect(rows.filter((r) => r.writer === w).map((r) => r.i).sort((a, b) => a - b)).toEqual([...Array(perWriter).keys()]);
  });

  it("never interleaves lines across processes either (O_APPEND, one write per line)", async () => {
    const dir = tmp();
    const file = path.join(dir, "procs.jsonl");
    const script = path.join(dir, "writer.ts");
    const source = path.resolve("src/dsl/loggers/index.ts");
    writeFileSync(
      script,
      `import { memfile } from ${JSON.stringify(source)};
const w = Number(process.argv[2]);
const f = memfile({ path: ${JSON.stringify(file)} })(({ w, i }: { w: number; i: number }) => ({ p: "xyzw"[w]!.repeat(30000 + i) }));
for (let i = 0; i < 200; i++) f({ w, i });\n`,
    );
    const tsx = path.resolve("node_modules/tsx/dist/cli.mjs");
    await Promise.all(
      [0, 1, 2, 3].map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(process.execPath, [tsx, script, String(w)], { stdio: "inherit" });
            child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`writer ${w} exited ${code}`))));
          }),
      ),
    );
    const rows = readJsonLines(file) as { w: number; i: number; p: string }[];
    expect(rows).toHaveLength(800);
    for (const r of rows) expect(r.p).toBe("xyzw"[r.w]!.repeat(30000 + r.i));
  });
});

describe("memweb", () => {
  it("POSTs each record as JSON with content-type application/json", async () => {
    const s = await server();
    closers.push(s.close);
    const spoolPath = path.join(tmp(), "spool.jsonl");
    const f = memweb({ url: `${s.url}/records`, spoolPath })(async ({ n }: { n: number }) => ({ sq: n * n, ok: true, nested: { k: [1] } }));
    expect(await f({ n: 3 })).toEqual({ sq: 9, ok: true, nested: { k: [1] } });
    expect(s.received).toHaveLength(1);
    const [req] = s.received;
    expect(req!.method).toBe("POST");
    expect(req!.url).toBe("/records");
    expect(req!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(req!.body)).toEqual({ n: 3, sq: 9, ok: true, nested: { k: [1] } });
    expect(existsSync(spoolPath)).toBe(false);
  });

  it("retries a server that answers 500 twice, then 200: the record is delivered once", async () => {
    const s = await server((_req, i) => (i < 2 ? { status: 500, body: '{"error":"busy"}' } : { status: 200 }));
    closers.push(s.close);
    const spoolPath = path.join(tmp(), "spool.jsonl");
    const f = memweb({ url: s.url, retries: 3, backoffMs: 10, spoolPath })(async ({ n }: { n: number }) => ({ r: n + 1 }));
    const started = Date.now();
    expect(await f({ n: 1 })).toEqual({ r: 2 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25); // 10 ms, then 20 ms of backoff
    expect(s.received.map((r) => JSON.parse(r.body))).toEqual([
      { n: 1, r: 2 },
      { n: 1, r: 2 },
      { n: 1, r: 2 },
    ]);
    expect(existsSync(spoolPath)).toBe(false);
    // a sync function: the POST happens in the background; flush() waits for it
    const g = memweb({ url: s.url, backoffMs: 10, spoolPath })(({ n }: { n: number }) => ({ r: n * 10 }));
    expect(g({ n: 2 })).toEqual({ r: 20 });
    await g.flush();
    expect(s.received).toHaveLength(4);
    expect(JSON.parse(s.received[3]!.body)).toEqual({ n: 2, r: 20 });
  });

  it("spools records while the server is down, never throws, and flush() resends them in order once it is up", async () => {
    const port = await closedPort();
    const spoolPath = path.join(tmp(), "nested", "spool.jsonl");
    const web = memweb({ url: `http://127.0.0.1:${port}/log`, retries: 2, backoffMs: 5, spoolPath });
    const f = web(async ({ i }: { i: number }) => ({ sq: i * i }));
    const g = web(({ i }: { i: number }) => ({ cube: i ** 3 })); // sync: sent in the background
    expect(await f({ i: 1 })).toEqual({ sq: 1 });
    expect(g({ i: 2 })).toEqual({ cube: 8 });
    expect(await f({ i: 3 })).toEqual({ sq: 9 });
    expect(await web.flush()).toEqual({ delivered: 0, spooled: 3 }); // still down
    expect(readJsonLines(spoolPath)).toEqual([
      { i: 1, sq: 1 },
      { i: 2, cube: 8 },
      { i: 3, sq: 9 },
    ]);

    const s = await server(undefined, port);
    closers.push(s.close);
    expect(await f.flush()).toEqual({ delivered: 3, spooled: 0 });
    expect(s.received.map((r) => JSON.parse(r.body))).toEqual([
      { i: 1, sq: 1 },
      { i: 2, cube: 8 },
      { i: 3, sq: 9 },
    ]);
    expect(readFileSync(spoolPath, "utf8")).toBe("");
    // a new record goes straight through
    await f({ i: 4 });
    expect(JSON.parse(s.received[3]!.body)).toEqual({ i: 4, sq: 16 });
  });

  it("a later call resends spooled records, in order, before its own", async () => {
    const port = await closedPort();
    const spoolPath = path.join(tmp(), "spool.jsonl");
    const f = memweb({ url: `http://127.0.0.1:${port}`, retries: 0, resendAfterMs: 0, spoolPath })(async ({ i }: { i: number }) => ({ i2: i }));
    await f({ i: 1 });
    await f({ i: 2 });
    expect(readJsonLines(spoolPath)).toHaveLength(2);
    const s = await server(undefined, port);
    closers.push(s.close);
    await f({ i: 3 });
    await f.flush();
    expect(s.received.map((r) => (JSON.parse(r.body) as { i: number }).i)).toEqual([1, 2, 3]);
    expect(readFileSync(spoolPath, "utf8")).toBe("");
  });

  it("keeps a failing tail in the spool, ahead of newer records, when the server fails mid-resend", async () => {
    const port = await closedPort();
    const spoolPath = path.join(tmp(), "spool.jsonl");
    const web = memweb({ url: `http://127.0.0.1:${port}`, retries: 0, spoolPath });
    const f = web(async ({ i }: { i: number }) => ({ ok: true }));
    for (let i = 1; i <= 4; i++) await f({ i });
    // up, but failing from the third request on
    const s = await server((_req, idx) => ({ status: idx < 2 ? 200 : 503 }), port);
    closers.push(s.close);
    expect(await web.flush()).toEqual({ delivered: 2, spooled: 2 });
    expect((readJsonLines(spoolPath) as { i: number }[]).map((r) => r.i)).toEqual([3, 4]);
  });
});

describe("memwandb (against a local imitation of W&B's documented HTTP protocol, not W&B itself)", () => {
  it("creates the run with upsertBucket, then streams history lines with increasing offsets", async () => {
    const s = await server((req) =>
      req.url === "/graphql"
        ? { status: 200, body: JSON.stringify({ data: { upsertBucket: { bucket: { id: "QnVja2V0", name: "run1", project: { name: "birthday", entity: { name: "alice" } } }, inserted: true } } }) }
        : { status: 200, body: "{}" },
    );
    closers.push(s.close);
    const wb = memwandb({ project: "birthday", apiKey: "k123", baseUrl: s.url, runName: "run1", config: { nSim: 1000 } });
    expect(wb.runName).toBe("run1");
    const sim = wb(async ({ classSize }: { classSize: number }) => ({ estProba: classSize / 100 }));
    for (const classSize of [10, 23, 40]) await sim({ classSize });
    await wb.finish();

    const auth = `Basic ${Buffer.from("api:k123").toString("base64")}`;
    for (const r of s.received) {
      expect(r.method).toBe("POST");
      expect(r.headers.authorization).toBe(auth);
      expect(r.headers["content-type"]).toBe("application/json");
    }
    const [gql, ...streams] = s.received;
    expect(gql!.url).toBe("/graphql");
    const body = JSON.parse(gql!.body) as { query: string; variables: Record<string, unknown> };
    expect(body.query).toMatch(/mutation UpsertBucket\(/);
    expect(body.query).toMatch(/upsertBucket\(input: \{ name: \$name, modelName: \$project, entityName: \$entity, config: \$config \}\)/);
    expect(body.variables).toEqual({ name: "run1", project: "birthday", entity: null, config: JSON.stringify({ nSim: { value: 1000, desc: null } }) });

    expect(streams.map((r) => r.url)).toEqual(Array(4).fill("/files/alice/birthday/run1/file_stream"));
    const history = streams.slice(0, 3).map((r) => (JSON.parse(r.body) as { files: Record<string, { offset: number; content: string[] }> }).files);
    expect(history.map((f) => Object.keys(f))).toEqual([["wandb-history.jsonl"], ["wandb-history.jsonl"], ["wandb-history.jsonl"]]);
    expect(history.map((f) => f["wandb-history.jsonl"]!.offset)).toEqual([0, 1, 2]);
    const rows = history.map((f) => JSON.parse(f["wandb-history.jsonl"]!.content[0]!) as Record<string, number>);
    expect(rows.map(({ classSize, estProba, _step }) => ({ classSize, estProba, _step }))).toEqual([
      { classSize: 10, estProba: 0.1, _step: 0 },
      { classSize: 23, estProba: 0.23, _step: 1 },
      { classSize: 40, estProba: 0.4, _step: 2 },
    ]);
    for (const r of rows) {
      expect(r["_runtime"]).toBeGreaterThanOrEqual(0);
      expect(r["_timestamp"]).toBeGreaterThan(1.6e9);
    }
    expect(JSON.parse(streams[3]!.body)).toEqual({ complete: true, exitcode: 0 });
  });

  it("keeps lines while the server fails and resends them at the same offset, never throwing", async () => {
    let failing = true;
    const s = await server((req) => {
      if (req.url === "/graphql") return { status: 200, body: JSON.stringify({ data: { upsertBucket: { bucket: { name: "r2", project: { name: "p", entity: { name: "team" } } } } } }) };
      return { status: failing ? 500 : 200 };
    });
    closers.push(s.close);
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => {});
    const wb = memwandb({ project: "p", entity: "team", apiKey: "k", baseUrl: s.url, runName: "r2", retries: 1, backoffMs: 5 });
    const f = wb(({ x }: { x: number }) => ({ y: x * 2 }));
    expect(f({ x: 1 })).toEqual({ y: 2 });
    expect(f({ x: 2 })).toEqual({ y: 4 });
    expect(await wb.flush()).toEqual({ sent: 0, pending: 2 });
    expect(warn).toHaveBeenCalled();
    failing = false;
    expect(await wb.flush()).toEqual({ sent: 2, pending: 0 });
    const delivered = s.received.filter((r) => r.url?.endsWith("/file_stream")).at(-1)!;
    const file = (JSON.parse(delivered.body) as { files: Record<string, { offset: number; content: string[] }> }).files["wandb-history.jsonl"]!;
    expect(file.offset).toBe(0);
    expect(file.content.map((l) => (JSON.parse(l) as { y: number }).y)).toEqual([2, 4]);
  });

  it("refuses to start without an API key", () => {
    const saved = process.env["WANDB_API_KEY"];
    delete process.env["WANDB_API_KEY"];
    try {
      expect(() => memwandb({ project: "p" })).toThrow("no API key");
    } finally {
      if (saved !== undefined) process.env["WANDB_API_KEY"] = saved;
    }
  });

  it("can be passed to map and forEach: the extra arguments are ignored, not logged", async () => {
    const { memlist, grid } = await import("../src/index.js");
    const data: { n: number; sq: number }[] = [];
    const sq = memlist({ data })(({ n }: { n: number }) => ({ sq: n * n }));
    expect(grid({ n: [1, 2, 3] }).map(sq)).toEqual([{ sq: 1 }, { sq: 4 }, { sq: 9 }]);
    expect(data).toEqual([
      { n: 1, sq: 1 },
      { n: 2, sq: 4 },
      { n: 3, sq: 9 },
    ]);
  });
});
