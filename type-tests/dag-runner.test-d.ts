/**
 * A DAG on a Runner: `g.run(inputs, { runner })` keeps the DAG's input and output types, and its
 * options are checked: a misspelt or missing `runner`, something that is not a Runner, a `module`
 * that is not a URL or a path, each an error on the offending call.
 */
import { dag, Runner, stage, type DagRunOptions } from "memopipe";
import { assertEqual, type Equal } from "./equal.js";

const s0 = stage("s0", ({ subject }: { subject: string }) => ({ raw: subject.length }), { cache: true });
const s1 = stage("s1", ({ raw }: { raw: number }) => ({ a: raw * 2 }), { cache: true });
const s2 = stage("s2", async ({ raw }: { raw: number }) => ({ b: `${raw}` }), { cache: true });
const s3 = stage("s3", ({ a, b, subject }: { a: number; b: string; subject: string }) => ({ report: `${subject}:${a}:${b}` }), { cache: true });
const g = dag().start(s0).edge(s0, s1).edge(s0, s2).edge([s1, s2], s3);
const runner = new Runner({ backend: "bullmq", connection: "redis://127.0.0.1:6379", queue: "dags" });

// the same outputs as in-process, with or without the stages' module
const remote = g.run({ subject: "sub-01" }, { runner });
assertEqual<Equal<typeof remote, Promise<{ report: string }>>>();
const withModule = g.run({ subject: "sub-01" }, { runner, module: new URL("./pipeline.js", import.meta.url) });
assertEqual<Equal<typeof withModule, Promise<{ report: string }>>>();
const local = g.run({ subject: "sub-01" }, { runner: new Runner({ backend: "in-process" }) });
assertEqual<Equal<typeof local, Promise<{ report: string }>>>();
const options: DagRunOptions = { runner, module: "/srv/proj/src/pipeline.js" };
void g.run({ subject: "sub-01" }, options);

// the DAG's inputs are still checked
// @ts-expect-error Property 'subject' is missing
void g.run({}, { runner });

// the options
// @ts-expect-error 'runer' does not exist in type 'DagRunOptions'
void g.run({ subject: "sub-01" }, { runer: runner });
// @ts-expect-error Property 'runner' is missing in type '{}' but required in type 'DagRunOptions'
void g.run({ subject: "sub-01" }, {});
// @ts-expect-error is missing the following properties from type 'Runner'
void g.run({ subject: "sub-01" }, { runner: { backend: "bullmq" } });
// @ts-expect-error Type 'number' is not assignable to type 'string | URL | undefined'
void g.run({ subject: "sub-01" }, { runner, module: 42 });
