/**
 * Sweeps and the Runner: exact types of grids, wrapped functions and run results, and the misuses
 * (a grid value that is not a list, points that do not fit the task), each reported on the
 * offending call with the key named.
 */
import { grid, ignoreError, memlist, randomGrid, Runner, task, timeTaken, type RunErrorRecord, type WorkerTask } from "memopipe";
import { assertEqual, type Equal } from "./equal.js";

type Err = { error: { name: string; message: string } };
type RunErr = { error: { name: string; message: string; code?: string } };

// --- grids: literals are widened, `as const` keeps them --------------------------------------------
const g = grid({ n: [1, 2], s: ["a"] });
assertEqual<Equal<typeof g, { n: number; s: string }[]>>();
const shuffled = grid({ opt: ["adam", "sgd"] as const, lr: [0.1, 0.01], on: [true] }, { shuffle: true, seed: 42 });
assertEqual<Equal<typeof shuffled, { opt: "adam" | "sgd"; lr: number; on: boolean }[]>>();
const none = grid({ n: [] });
assertEqual<Equal<typeof none, { n: never }[]>>();
const drawn = randomGrid({ classSize: [10, 20, 30], nSim: [1000] }, { n: 5, seed: 1 });
assertEqual<Equal<typeof drawn, { classSize: number; nSim: number }[]>>();

// --- timeTaken and ignoreError, sync and async ------------------------------------------------------
const timed = timeTaken()(({ n }: { n: number }) => ({ est: n / 2 }));
assertEqual<Equal<typeof timed, (args: { n: number }) => { est: number; timeTaken: number }>>();
const started = timeTaken({ start: true })(({ n }: { n: number }) => ({ est: n / 2 }));
assertEqual<Equal<typeof started, (args: { n: number }) => { est: number; timeStart: string; timeTaken: number }>>();
const startedAsync = timeTaken({ start: true, digits: 1 })(async ({ n }: { n: number }) => ({ est: n, timeStart: 0 }));
assertEqual<Equal<ReturnType<typeof startedAsync>, Promise<{ est: number; timeStart: string; timeTaken: number }>>>();
const notStarted = timeTaken({ start: false })(({ n }: { n: number }) => ({ est: n }));
assertEqual<Equal<typeof notStarted, (args: { n: number }) => { est: number; timeTaken: number }>>();
declare const startFlag: boolean;
const maybeStarted = timeTaken({ start: startFlag })(({ n }: { n: number }) => ({ est: n }));
assertEqual<Equal<typeof maybeStarted, (args: { n: number }) => { est: number; timeStart?: string; timeTaken: number }>>();
// the record a logger checks carries timeStart
const startedRows: { n: number; est: number; timeStart: string; timeTaken: number }[] = [];
memlist({ data: startedRows })(timeTaken({ start: true })(({ n }: { n: number }) => ({ est: n / 2 })));
const rowsWithoutStart: { n: number; est: number; timeTaken: number }[] = [];
// @ts-expect-error the logged record has field 'timeStart', which data does not declare
memlist({ data: rowsWithoutStart })(timeTaken({ start: true })(({ n }: { n: number }) => ({ est: n / 2 })));
const timedAsync = timeTaken({ digits: 2 })(async ({ n }: { n: number }) => ({ est: n, timeTaken: "replaced" }));
assertEqual<Equal<ReturnType<typeof timedAsync>, Promise<{ est: number; timeTaken: number }>>>();

const safe = ignoreError(({ n }: { n: number }) => ({ inv: 1 / n }));
assertEqual<Equal<ReturnType<typeof safe>, { inv: number } | ({ n: number } & { error: { name: string; message: string } })>>();
const safeAsync = ignoreError(async ({ url }: { url: string }) => ({ status: url.length }));
assertEqual<Equal<ReturnType<typeof safeAsync>, Promise<{ status: number } | ({ url: string } & Err)>>>();
const r = safe({ n: 2 });
if ("error" in r) assertEqual<Equal<typeof r.error.message, string>>();
else assertEqual<Equal<typeof r.inv, number>>();

// --- the Runner: results in input order, one result or error record per point -----------------------
const runner = new Runner({ backend: "in-process", workers: 4, progress: false });
// the points type an unannotated task
const labelled = runner.run(({ n, s }) => ({ label: `${s}${n}` }), g);
assertEqual<Equal<typeof labelled, Promise<Array<{ label: string } | RunErrorRecord<{ n: number; s: string }>>>>>();
// an async task that needs fewer keys than the points give: the error record keeps the points' type
const halved = runner.run(async ({ n }: { n: number }) => ({ half: n / 2 }), g);
assertEqual<Equal<typeof halved, Promise<Array<{ half: number } | ({ n: number; s: string } & RunErr)>>>>();

// a task addressed by module and export, typed by the exported function
declare function simulate(point: { classSize: number; nSim: number }): Promise<{ estProba: number }>;
const simulateTask = task<typeof simulate>({ module: "file:///app/points.js", export: "simulate" });
assertEqual<Equal<typeof simulateTask, WorkerTask<{ classSize: number; nSim: number }, { estProba: number }>>>();
const threads = new Runner({ backend: "threads", workers: 2, progress: { mode: "lines", label: "birthday" } });
const estimates = threads.run(simulateTask, drawn);
assertEqual<Equal<typeof estimates, Promise<Array<{ estProba: number } | RunErrorRecord<{ classSize: number; nSim: number }>>>>>();
// a point's error record may carry the Runner's code (a timeout, a dead thread)
declare const one: Awaited<typeof estimates>[number];
if ("error" in one) assertEqual<Equal<typeof one.error.code, string | undefined>>();
// run options: a timeout and a signal
const bounded = threads.run(simulateTask, drawn, { timeout: 1000, signal: AbortSignal.timeout(5000) });
assertEqual<Equal<typeof bounded, typeof estimates>>();
// @ts-expect-error Type 'string' is not assignable to type 'number'
threads.run(simulateTask, drawn, { timeout: "1s" });
// an untyped address: results are unknown
const raw = threads.run({ module: "file:///app/points.js", export: "simulate" }, drawn);
assertEqual<Equal<typeof raw, Promise<unknown[]>>>();

// --- misuses ----------------------------------------------------------------------------------------
// @ts-expect-error grid value 'n' must be an array of the values to try, got number; write n: [value]
grid({ n: 1 });

// @ts-expect-error grid value 's' must be an array of the values to try, got string
grid({ n: [1, 2], s: "abc" });

// @ts-expect-error grid value 'nSim' must be an array of the values to try
randomGrid({ classSize: [10], nSim: 1000 }, { n: 3 });

// @ts-expect-error the task takes 'classSize' as number, but the points give string
threads.run(simulateTask, grid({ classSize: ["10"], nSim: [1000] }));

// @ts-expect-error the task needs 'nSim' in every point, but the points lack it
threads.run(simulateTask, grid({ classSize: [10, 20] }));

// @ts-expect-error the task takes 'n' as number, but the points give string
runner.run((p: { n: number }) => ({ y: p.n }), grid({ n: ["x"] }));

// @ts-expect-error timeTaken()(fn): the function must return an object of named results, not number
timeTaken()(({ n }: { n: number }) => n * 2);

// @ts-expect-error ignoreError(fn): the function must take one object of named arguments, not number
ignoreError((n: number) => ({ n }));

// @ts-expect-error Type '"loky"' is not assignable to type '"bullmq" | "in-process" | "threads"'
new Runner({ backend: "loky" });

// --- the bullmq backend: its queue is required, its options are its own ----------------------------
const remote = new Runner({ backend: "bullmq", connection: "redis://10.0.0.5:6379", queue: "sweeps", attempts: 2 });
assertEqual<Equal<typeof remote.backend, "in-process" | "threads" | "bullmq">>();

// @ts-expect-error Property 'queue' is missing in type '{ backend: "bullmq"; connection: string; }' but required in type 'BullmqRunnerOptions'
new Runner({ backend: "bullmq", connection: "redis://10.0.0.5:6379" });
