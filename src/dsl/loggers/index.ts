/**
 * The experiment loggers (memo's decorators): `memlist`, `memfile`, `memfunc`, `memstdout`,
 * `memweb` and `memwandb`. Each is a decorator factory: `memlist({ data })(fn)` returns `fn`
 * wrapped so that each call's record (its named arguments merged with its result, the result
 * winning on a key clash) goes to the sink.
 *
 * @example
 * import { memlist } from "memopipe";
 * const data: { n: number; sq: number }[] = [];
 * const square = memlist({ data })(({ n }: { n: number }) => ({ sq: n * n }));
 * square({ n: 3 }); // data: [{ n: 3, sq: 9 }]
 */
export { memlist, memfile, memfunc, memstdout, type MemlistOptions, type MemfileOptions, type MemstdoutOptions } from "./local.js";
export { memweb, type MemwebOptions, type MemwebLogger, type MemwebFlush, type FlushReport } from "./memweb.js";
export { memwandb, type MemwandbOptions, type MemwandbLogger, type MemwandbControls } from "./memwandb.js";
export { LoggerError, toJsonLine } from "./record.js";
