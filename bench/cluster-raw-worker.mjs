// The raw-BullMQ baseline of bench/cluster.ts: a plain BullMQ Worker doing what memopipe's does for
// a tiny point (n × 2) or a CPU-bound one, with nothing of memopipe. Usage:
//   node bench/cluster-raw-worker.mjs <redis url> <queue> <concurrency>
import { Worker } from "bullmq";

const [url, queue, concurrency] = process.argv.slice(2);
const { hostname, port } = new URL(url);
const worker = new Worker(
  queue,
  async (job) => {
    const { n, ms } = job.data;
    if (!ms) return { y: n * 2 };
    const end = performance.now() + ms;
    let x = 0;
    while (performance.now() < end) x += Math.sqrt(x + n);
    return { n, x };
  },
  { connection: { host: hostname, port: Number(port), maxRetriesPerRequest: null }, concurrency: Number(concurrency), autorun: false },
);
worker.on("error", () => {});
await worker.waitUntilReady();
console.log("ready");
process.once("SIGTERM", () => void worker.close().then(() => process.exit(0)));
await worker.run();
