/**
 * Node built-ins that only some features need, loaded on first use rather than when memopipe is
 * imported.
 *
 * Why: the package is one bundled file per format, so every `import … from "node:crypto"` at the
 * top of any module runs when a program imports memopipe, even one that only builds a `pipe()`.
 * `node:crypto` costs ~3 ms and `node:v8` ~1.5 ms of a cold import; only the cache (keys,
 * checksums, the V8 codec), the fingerprints and memwandb's run ids use them. The functions below
 * have the signatures of the built-ins they stand for, so a module switches by changing its import
 * line (`import { createHash } from "../lazy-builtins.js"`), and nothing else.
 *
 * How: `process.getBuiltinModule` (Node ≥ 20.16) loads a built-in synchronously, from ESM and CJS
 * alike, and bundlers leave it alone (a bundle of a pipe-only program carries none of this). The
 * module is looked up once and kept; each call then costs one extra function call (a few ns, next
 * to the ~400 ns of a SHA-256).
 *
 * `test/import-cost.test.ts` fails when a pipe-only import loads one of these built-ins again.
 *
 * @example
 * import { createHash } from "./lazy-builtins.js";
 * createHash("sha256").update("x").digest("hex"); // node:crypto is loaded here, on the first call
 */
import type * as Crypto from "node:crypto";
import type * as V8 from "node:v8";
import type * as Zlib from "node:zlib";

let crypto: typeof Crypto | undefined;
let v8: typeof V8 | undefined;
const nodeCrypto = (): typeof Crypto => (crypto ??= process.getBuiltinModule("node:crypto"));
const nodeV8 = (): typeof V8 => (v8 ??= process.getBuiltinModule("node:v8"));
let zlibCrc32: ((data: Uint8Array) => number) | undefined;

/**
 * `zlib.crc32` (CRC-32, IEEE; Node ≥ 20.15), loading `node:zlib` on the first call.
 *
 * @example
 * crc32(Buffer.from("abc")); // 891568578
 */
export function crc32(data: Uint8Array): number {
  return (zlibCrc32 ??= (process.getBuiltinModule("node:zlib") as typeof Zlib).crc32)(data);
}

/**
 * `crypto.createHash`, loading `node:crypto` on the first call.
 *
 * @example
 * createHash("sha256").update("abc").digest("hex");
 */
export function createHash(algorithm: string, options?: Crypto.HashOptions): Crypto.Hash {
  return nodeCrypto().createHash(algorithm, options);
}

/**
 * `crypto.hash` (one-shot digest), loading `node:crypto` on the first call.
 *
 * @example
 * hash("sha256", "abc", "hex");
 */
export function hash(algorithm: string, data: Crypto.BinaryLike, outputEncoding: Crypto.BinaryToTextEncoding = "hex"): string {
  return nodeCrypto().hash(algorithm, data, outputEncoding);
}

/**
 * `crypto.randomBytes(size)` (the synchronous form), loading `node:crypto` on the first call.
 *
 * @example
 * randomBytes(8).toString("hex");
 */
export function randomBytes(size: number): Buffer {
  return nodeCrypto().randomBytes(size);
}

/**
 * `v8.serialize`, loading `node:v8` on the first call.
 *
 * @example
 * deserialize(serialize(new Map([[1, 2]]))); // Map { 1 => 2 }
 */
export function serialize(value: unknown): Buffer {
  return nodeV8().serialize(value);
}

/**
 * `v8.deserialize`, loading `node:v8` on the first call.
 *
 * @example
 * deserialize(serialize({ a: 1n })); // { a: 1n }
 */
export function deserialize(buffer: NodeJS.ArrayBufferView): unknown {
  return nodeV8().deserialize(buffer);
}
