/**
 * Experiment loggers: a logged function keeps its exact type; its record (named arguments merged
 * with the result, the result winning) is checked against the sink's record type, and a function
 * that cannot be logged fails to compile on the function argument, with the message.
 */
import {
  memlist,
  memfile,
  memfunc,
  memstdout,
  memweb,
  memwandb,
  type FlushReport,
  type LoggedRecord,
  type MemwandbControls,
  type MemwebFlush,
  type RecordOf,
} from "memopipe";
import { assertEqual, type Equal } from "./equal.js";

// --- valid uses: the wrapped function keeps its type ----------------------------------------------
const data: { classSize: number; nSim: number; estProba: number }[] = [];
const birthday = ({ classSize, nSim }: { classSize: number; nSim: number }) => ({ estProba: classSize / nSim });
const logged = memlist({ data })(birthday);
assertEqual<Equal<typeof logged, typeof birthday>>();
assertEqual<Equal<ReturnType<typeof logged>, { estProba: number }>>();

// async functions: the wrapper returns the same promise type
const asyncBirthday = async ({ classSize }: { classSize: number; nSim: number }) => ({ estProba: classSize / 365 });
const asyncLogged = memlist({ data })(asyncBirthday);
assertEqual<Equal<typeof asyncLogged, typeof asyncBirthday>>();
assertEqual<Equal<ReturnType<typeof asyncLogged>, Promise<{ estProba: number }>>>();

// the record type: arguments merged with the (awaited) result, the result winning on a clash
assertEqual<Equal<RecordOf<typeof asyncBirthday>, { classSize: number; nSim: number; estProba: number }>>();
assertEqual<Equal<LoggedRecord<{ n: number; tag: string }, { tag: boolean }>, { n: number; tag: boolean }>>();
const clash: { n: number; tag: boolean }[] = [];
memlist({ data: clash })(({ n }: { n: number; tag: string }) => ({ tag: n > 0 }));

// sinks that declare no record type, or a loose one, take any record
memlist({ data: [] as Record<string, unknown>[] })(({ a }: { a: number }) => ({ b: a }));
memlist({ data: [] as object[] })(({ a }: { a: number }) => ({ b: a }));
memlist({ data: [] as { a: number; b?: string; c: number }[] })(({ a }: { a: number }) => ({ c: a }));
const union: ({ a: number; ok: number } | { a: number; error: string })[] = [];
memlist({ data: union })(({ a }: { a: number }) => ({ error: `${a}` }));
// a function of no argument: the record is its result
memlist({ data: [] as { at: number }[] })(() => ({ at: 1 }));

const toFile = memfile({ path: "results.jsonl" })(asyncBirthday);
assertEqual<Equal<typeof toFile, typeof asyncBirthday>>();
const checkedFile = memfile<{ classSize: number; nSim: number; estProba: number }>({ path: "r.jsonl" })(birthday);
assertEqual<Equal<typeof checkedFile, typeof birthday>>();
const toStdout = memstdout()(birthday);
assertEqual<Equal<typeof toStdout, typeof birthday>>();

// memfunc infers the record type from an annotated callback parameter; an unannotated one takes any record
const seen: unknown[] = [];
const viaCallback = memfunc((r: { classSize: number; nSim: number; estProba: number }) => seen.push(r))(birthday);
assertEqual<Equal<typeof viaCallback, typeof birthday>>();
memfunc((r) => seen.push(r))(({ x }: { x: string }) => ({ y: x.length }));

// memweb and memwandb add their controls to the wrapped function (and carry them on the logger)
const web = memweb({ url: "http://127.0.0.1:8080/records" });
const toWeb = web(asyncBirthday);
assertEqual<Equal<typeof toWeb, typeof asyncBirthday & MemwebFlush>>();
assertEqual<Equal<ReturnType<typeof web.flush>, Promise<FlushReport>>>();
const wb = memwandb({ project: "birthday", apiKey: "key" });
const toWandb = wb(birthday);
assertEqual<Equal<typeof toWandb, typeof birthday & MemwandbControls>>();
assertEqual<Equal<typeof wb.runName, string>>();

// --- misuses: the error lands on the function argument ---------------------------------------------
const wrongType: { classSize: number; nSim: number; estProba: string }[] = [];
memlist({ data: wrongType })(
  // @ts-expect-error field 'estProba' of the logged record is number, but data declares it as string
  birthday,
);

memlist({ data })(
  // @ts-expect-error the logged record has no field 'estProba', which data requires
  ({ classSize }: { classSize: number; nSim: number }) => ({ estProb: classSize }),
);

memlist({ data })(
  // @ts-expect-error the logged record has field 'extra', which data does not declare
  ({ classSize }: { classSize: number; nSim: number }) => ({ estProba: classSize, extra: true }),
);

memlist({ data: union })(
  // @ts-expect-error the logged record matches no member of the union data declares
  ({ a }: { a: number }) => ({ other: a }),
);

memlist({ data })(
  // @ts-expect-error a logged function takes one object of named arguments and returns an object, but this one takes 2 parameters
  (classSize: number, nSim: number) => ({ estProba: classSize / nSim }),
);

memfile({ path: "r.jsonl" })(
  // @ts-expect-error a logged function takes one object of named arguments and returns an object, but this one returns number
  ({ classSize }: { classSize: number }) => classSize / 365,
);

memstdout()(
  // @ts-expect-error a logged function takes one object of named arguments and returns an object, but this one returns number
  async ({ n }: { n: number }) => n,
);

memweb({ url: "http://127.0.0.1:8080" })(
  // @ts-expect-error a logged function takes one object of named arguments and returns an object, but this one takes number
  (n: number) => ({ sq: n * n }),
);

memfunc((r: { n: number; sq: number }) => seen.push(r))(
  // @ts-expect-error field 'sq' of the logged record is string, but the callback declares it as number
  ({ n }: { n: number }) => ({ sq: `${n * n}` }),
);

memfile<{ n: number; sq: number }>({ path: "r.jsonl" })(
  // @ts-expect-error the logged record has no field 'sq', which memfile<Rec> requires
  ({ n }: { n: number }) => ({ square: n * n }),
);

memwandb({ project: "p", apiKey: "k" })(
  // @ts-expect-error a logged function takes one object of named arguments and returns an object, but this one returns number[], not an object
  ({ n }: { n: number }) => [n],
);
