/**
 * Generic functions as steps, branches and merges are instantiated for the current value (they are
 * not erased to `unknown`), and forks of any width keep their types.
 */
import { pipe, fork, identity, flatten, memorizable } from "memopipe";
import { assertEqual, type Equal } from "./equal.js";

function wrap<T>(value: T): { value: T } {
  return { value };
}
function pairUp<A, B>(a: A, b: B): [A, B] {
  return [a, b];
}
const first = <T,>(xs: readonly T[]): T | undefined => xs[0];


const wrapped = pipe<number>().step(wrap).build();
assertEqual<Equal<typeof wrapped, (input: number) => { value: number }>>();

const same = pipe<number>().step(identity).step((x) => x + 1).build();
assertEqual<Equal<typeof same, (input: number) => number>>();

const head = pipe<string[]>().step(first).build();
assertEqual<Equal<typeof head, (input: string[]) => string | undefined>>();

const paired = pipe<number>().fork(identity, (x) => `${x}`).merge(pairUp).build();
assertEqual<Equal<typeof paired, (input: number) => [number, string]>>();

const forkedGenerics = pipe<number>().fork(wrap, identity).build();
assertEqual<Equal<typeof forkedGenerics, (input: number) => readonly [{ value: number }, number]>>();

const flatIdentities = pipe<number>().fork(identity, fork(identity<number>, (x: number) => `${x}`)).flatten().build();
assertEqual<Equal<typeof flatIdentities, (input: number) => readonly [number, number, string]>>();

const memorizedGeneric = pipe<number>().step(memorizable(wrap)).build();
assertEqual<Equal<typeof memorizedGeneric, (input: number) => { value: number }>>();

// Wide forks: eight typed branches, then any number more.
const wide = pipe<number>()
  .fork(
    (x) => x,
    (x) => `${x}`,
    (x) => x > 0,
    identity,
    (x) => [x],
    (x) => ({ x }),
    async (x) => x,
    (x) => BigInt(x),
    (x) => null,
    (x) => undefined,
  )
  .build();
assertEqual<
  Equal<
    typeof wide,
    (input: number) => Promise<readonly [number, string, boolean, number, number[], { x: number }, number, bigint, null, undefined]>
  >
>();
const wideFree = fork(
  (x: number) => 1,
  (x: number) => 2,
  (x: number) => 3,
  (x: number) => 4,
  (x: number) => 5,
  (x: number) => 6,
  identity,
);
assertEqual<Equal<typeof wideFree, (input: number) => readonly [number, number, number, number, number, number, number]>>();

// pipe() without a type argument: a fork first takes its input from the branches.
const untypedFork = pipe().fork((x: number) => x, (x: number) => `${x}`).build();
assertEqual<Equal<typeof untypedFork, (input: number) => readonly [number, string]>>();

// memorizable(f, { allowIngest: false }) is still called like f, and storable.
const load = memorizable((path: string) => path.length, { allowIngest: false });
assertEqual<Equal<ReturnType<typeof load>, number>>();
load("data.csv");
const stored = pipe<string>().step(load).store("size").build();
assertEqual<Equal<typeof stored, (input: string) => number>>();

// free flatten on a fork result
const nested = fork((x: number) => x, fork((x: number) => `${x}`, (x: number) => x > 0))(1);
assertEqual<Equal<ReturnType<typeof flatten<typeof nested>>, readonly [number, string, boolean]>>();
