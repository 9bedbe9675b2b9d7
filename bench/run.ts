/**
 * `npm run bench`: every benchmark, each printing ratios against a baseline measured in the same
 * run, then where its figures were written. The README quotes the latest figures.
 *
 *   npm run bench              all of them (~4 minutes on 2 cores; needs python3-joblib for the
 *                              cache comparison: apt-get install python3-joblib)
 *   npm run bench -- runtime   only the named ones (runtime, types, dag, cache, keys, codec, fingerprint, fingerprint-refresh, loggers, runner, import)
 */
const suites: Record<string, { title: string; run: () => Promise<unknown> | unknown }> = {
  runtime: { title: "run time: a built pipeline vs hand-written code, remeda and Effect", run: async () => (await import("./runtime.js")).main() },
  types: {
    title: "compile time: the pipe() and dag() builder types on TypeScript 6 and 7",
    run: async () => {
      (await import("./type-cost.js")).main();
      console.log("");
      (await import("./type-cost-dag.js")).main();
    },
  },
  dag: { title: "dag(): 1,000 uncached stages vs a hand-written Promise.all graph, and building", run: async () => (await import("./dag.js")).main() },
  cache: { title: "cache: hits and misses vs joblib, hashing vs sha256sum", run: async () => (await import("./cache.js")).main() },
  keys: { title: "cache keys: binary encoding (v2) vs the text one (v1) vs JSON.stringify", run: async () => (await import("./keys.js")).main() },
  codec: { title: "value codec (mpv1) vs node:v8 and JSON", run: async () => (await import("./codec.js")).main() },
  fingerprint: { title: "memopipe fingerprint on a 500-stage project vs tsc", run: async () => (await import("./fingerprint.js")).main() },
  "fingerprint-refresh": {
    title: "the run-time fingerprint refresh: cold, incremental, no change (small and 500-stage projects) vs refresh off, tsc and reading the files",
    run: async () => (await import("./fingerprint-refresh.js")).main(),
  },
  loggers: { title: "loggers: per-record overhead vs a bare call", run: async () => (await import("./loggers.js")).main() },
  runner: {
    title: "Runner: threads vs in-process on CPU-bound points; 10,000 tiny points vs raw piscina, with and without chunks",
    run: async () => {
      await (await import("./runner.js")).main();
      console.log("");
      await (await import("./runner-tiny.js")).main();
    },
  },
  cluster: { title: "cluster: the bullmq Runner vs raw BullMQ, RedisStore vs the directory store, claim takeover", run: async () => (await import("./cluster.js")).main() },
  import: { title: "import: a pipe-only program's cold start vs a bare node, and its esbuild bundle", run: async () => (await import("./import.js")).main() },
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const unknown = wanted.filter((w) => !(w in suites));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${Object.keys(suites).join(", ")}`);
  process.exit(2);
}
const started = Date.now();
for (const [name, suite] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n== ${suite.title} ==`);
  await suite.run();
}
console.log(`\nbenchmarks done in ${((Date.now() - started) / 1000).toFixed(0)} s; figures in bench/.out/*.json`);
