/**
 * memopipe: typed data pipelines whose mistakes `tsc` catches in the editor.
 *
 * @example
 * import { pipe } from "memopipe";
 * const run = pipe<number>().step((x) => x * 2).store("d").step((x) => String(x))
 *   .step((s: string, d: number) => s + d).ingestAfter("d").build();
 * run(21); // "4242"
 */
export { pipe } from "./dsl/pipe.js";
export { fork, merge, to, identity, flatten } from "./dsl/combinators.js";
export { memorizable, type Memorizable, type MemorizableOptions } from "./dsl/memorizable.js";
export {
  MemopipeError,
  PipelineDefinitionError,
  UnknownMemoryKeyError,
  DuplicateMemoryKeyError,
  IngestNotAllowedError,
  NotATupleError,
  PipelineStepError,
} from "./runtime/errors.js";
export type { Pipe, PipeBuilder, IncompletePipe, PipeIngest } from "./types/builder.js";
export type { PipeTypeError, Show } from "./types/type-error.js";
export type { AsyncMode } from "./types/async.js";
export type { Flatten } from "./types/tuple.js";
export type { BuiltPipeline, InferInput } from "./types/builder-state.js";
export { stage, file, StageOutputError } from "./dsl/stage.js";
export { dag, StageRunError, type Dag } from "./dsl/dag.js";
export type { DagRunOptions } from "./dsl/dag-remote.js";
export { FileRef, ResolvedFile } from "./runtime/cache/types.js";
export { UnrecordableValueError, CacheCorruptionError, CacheWriteError } from "./runtime/errors.js";
export { DirectoryStore, type DirectoryStoreOptions } from "./runtime/cache/directory-store.js";
export { RedisStore, type RedisStoreOptions } from "./runtime/cache/redis-store.js";
export type { RedisConnection, RedisConnectionOptions, RedisClientLike } from "./runtime/redis/connection.js";
export type { CacheStore, Claim, ClaimOptions, EntryRecord, NewEntry, ReadResult, InputRecord, CodeRecord, FileRecord } from "./runtime/cache/types.js";
export type { CacheOption } from "./dsl/stage.js";
export type { Stage, StageOptions, StageInput, StageOutput } from "./types/stage.js";
export type { DagLink, DagOutputsEntry } from "./types/dag.js";
export { lastRun, formatWhy, type WhyReport } from "./runtime/why.js";
export { describe } from "./dsl/describe.js";
export { renderMermaid, mermaidText, type MermaidOptions } from "./runtime/graph/mermaid.js";
export { renderDot, dotString, type DotOptions } from "./runtime/graph/dot.js";
export { renderGraphSvg, graphPage } from "./runtime/graph/svg.js";
export { withRun, stageRun, eventStatus, STATUS_COLOURS } from "./runtime/graph/run-status.js";
export { readRun, listRuns, type RunEvents } from "./runtime/report/runs.js";
export { collectReport, type ReportData, type CollectOptions, type EventDetail, type InputChange, type FileChange, type CodeChange, type SweepData } from "./runtime/report/collect.js";
export { renderReport, REPORT_CSP, type RenderReportOptions } from "./runtime/report/html.js";
export { whyDocument, cacheListDocument, cacheStatsDocument, MACHINE_SCHEMA_VERSION, type WhyDocument } from "./runtime/report/machine.js";
export { whyMarkdown, cacheListMarkdown, cacheStatsMarkdown } from "./runtime/report/markdown.js";
export type { PipelineGraph, GraphNode, GraphEdge, GraphCluster, NodeKind, EdgeKind, StageInfo, NodeRun, RunStatus } from "./runtime/graph/model.js";
export { reasonText, flushEvents, type StageEvent, type Reason } from "./runtime/events.js";
export { renderSvg, chartSpec, readRecords, plotFile, type ChartOptions } from "./runtime/plot.js";
export { MissingPackageError } from "./runtime/optional-package.js";
export { memlist, memfile, memfunc, memstdout, memweb, memwandb, LoggerError, toJsonLine } from "./dsl/loggers/index.js";
export type { MemlistOptions, MemfileOptions, MemstdoutOptions, MemwebOptions, MemwebLogger, MemwebFlush, FlushReport } from "./dsl/loggers/index.js";
export type { MemwandbOptions, MemwandbLogger, MemwandbControls } from "./dsl/loggers/index.js";
export type { LoggerOf, LoggedFn, LoggedRecord, RecordOf, NotLoggable } from "./types/logger.js";
export { grid, randomGrid } from "./dsl/sweep/grid.js";
export { mulberry32 } from "./dsl/sweep/random.js";
export { timeTaken, ignoreError, type TimeTakenOptions } from "./dsl/sweep/wrappers.js";
export { task } from "./dsl/sweep/task.js";
export { Runner, type RunnerOptions, type RunOptions } from "./runtime/runner/runner.js";
export { RunAbortedError } from "./runtime/runner/aborted.js";
export type { BullmqRunnerOptions } from "./runtime/runner/bullmq/options.js";
export { DagRunnerError, WorkerCodeError, WorkerSetupError } from "./runtime/runner/bullmq/errors.js";
export type { ProgressOptions, ProgressStream } from "./runtime/runner/progress.js";
export type { ErrorRecord, RunErrorRecord, GridOptions, GridPoint, GridSpecCheck, RandomGridOptions, TaskAddress, WorkerTask, RunResults, WithTimeTaken } from "./types/sweep.js";
