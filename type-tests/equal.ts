/**
 * Exact type equality for the type tests, usable with every compiler (tsd's `expectType` only runs
 * under tsd's bundled TypeScript 5.9; under tsc 6 and 7 it is a plain assignability check).
 * `assertEqual<Equal<A, B>>()` fails to compile unless A and B are identical.
 */
export type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
export declare function assertEqual<T extends true>(): void;
