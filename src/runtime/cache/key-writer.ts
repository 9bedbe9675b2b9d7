/**
 * The byte buffer the key encoder (canonical.ts) writes into: a growable `Buffer`, reused from one
 * call to the next, that either ends as one one-shot SHA-256 (the common, small case) or streams
 * into a `Hash` in 64 KiB chunks (large values), or is handed back as bytes (`canonicalEncode`).
 *
 * Why a reused buffer and not strings: the first key encoding pushed many small strings
 * (`d7000.25;`, `s3:p00`…) to an array, joined them and hashed the UTF-8 of the result: ~14 µs
 * for an object of 100 numbers. Writing tag bytes, raw float64s and length-prefixed UTF-8 into a
 * buffer that is already allocated: ~2–3 µs of writes for the same object (100 float64s: 0.1 µs);
 * what is left is V8's `Object.keys` and the SHA-256 over the ~1.4 KB (docs/keys.md, "the floor").
 */
import type { Hash } from "node:crypto";
import * as crypto from "../lazy-builtins.js";
import { createHash } from "../lazy-builtins.js";

/** The size of a fresh buffer, and how much a streaming digest holds before it feeds the hash. */
const CHUNK = 64 * 1024;
/** A buffer that grew past this (a large Map, a `canonicalEncode` of a big value) is not kept for the next call. */
const KEEP_AT_MOST = 1024 * 1024;
/**
 * Strings up to this long are tried as ASCII by a char-code loop; longer ones are written by
 * `Buffer.write` (see {@link KeyWriter.str}). Measured: the loop costs ~1.5 ns a character, the
 * call ~50 ns whatever the length; they meet at ~20 characters.
 */
const SHORT = 16;
/** Strings at least this long are fed to the hash directly when streaming (no copy into the buffer). */
const DIRECT_STRING = 16 * 1024;

/** `crypto.hash` (Node ≥ 20.12), when this Node has it: half the cost of `createHash().update().digest()` for small inputs. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: "hex") => string }).hash;

// `String.prototype.isWellFormed` is in Node ≥ 20 but not in the ES2022 lib this project compiles against.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** The tag of a well-formed string, and of one with lone surrogates (see canonical.ts's grammar). */
const TAG_STRING = 0x73; // "s"
const TAG_UTF16 = 0x77; // "w"
/** The tag of a number. */
export const TAG_NUMBER = 0x64; // "d"

/**
 * A growable byte buffer with the primitive writes of the key grammar. Not reentrant: canonical.ts
 * hands out one writer at a time (a second, nested call gets its own).
 *
 * @example
 * const w = new KeyWriter();
 * w.begin(true, "memopipe-key-v2\n");
 * w.u8(0x64); w.f64(1.5);
 * w.finishHex(); // SHA-256 hex of the prefix and the 9 bytes
 */
export class KeyWriter {
  buf = Buffer.allocUnsafe(CHUNK);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  /** The next byte to write. */
  pos = 0;
  /**
   * How many Map/Set bodies are open. Their entries are sorted in place once the body is complete,
   * so nothing may leave the buffer while one is open: the streaming flush waits for 0.
   */
  holds = 0;
  private hash: Hash | undefined;
  private streaming = false;

  /**
   * Starts a value. `streaming`: the bytes may be fed to a SHA-256 as they come (a digest);
   * otherwise they are all kept (an encoding). `prefix` is written first (ASCII).
   *
   * @example
   * writer.begin(false, "");
   */
  begin(streaming: boolean, prefix: string): void {
    this.pos = 0;
    this.holds = 0;
    this.hash = undefined;
    this.streaming = streaming;
    for (let i = 0; i < prefix.length; i++) this.buf[this.pos++] = prefix.charCodeAt(i);
  }

  /** Makes room for `n` more bytes. Inlined by V8 (the slow part is out of line). */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.makeRoom(n);
  }

  private makeRoom(n: number): void {
    if (this.streaming && this.holds === 0) {
      this.flush();
      if (n <= this.buf.length) return;
    }
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  /** Feeds what is buffered to the hash (streaming only, no Map/Set body open). */
  private flush(): void {
    this.hash ??= createHash("sha256");
    this.hash.update(this.buf.subarray(0, this.pos));
    this.pos = 0;
  }

  /** One byte (a tag). */
  u8(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Two bytes (a tag and a sub-tag). */
  u8x2(a: number, b: number): void {
    this.ensure(2);
    this.buf[this.pos++] = a;
    this.buf[this.pos++] = b;
  }

  /** An unsigned LEB128 integer (7 bits a byte, high bit = more follows): a length or a count. */
  varint(n: number): void {
    this.ensure(8);
    const buf = this.buf;
    let p = this.pos;
    // Division rather than `>>>`: byte lengths of buffers may exceed 2^32.
    while (n >= 0x80) {
      buf[p++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[p++] = n;
    this.pos = p;
  }

  /**
   * A tag byte, then a float64, little-endian. Every NaN is written as the one quiet NaN
   * `7ff8000000000000`: NaNs with other payloads (from a Float64Array, a DataView) are the same
   * JavaScript value and must share a key, and `setFloat64` may keep a payload.
   */
  tagF64(tag: number, n: number): void {
    this.ensure(9);
    const p = this.pos;
    this.buf[p] = tag;
    if (n === n) this.view.setFloat64(p + 1, n, true);
    else this.view.setBigUint64(p + 1, 0x7ff8000000000000n, true);
    this.pos = p + 9;
  }

  /**
   * A string: `s`, its length in UTF-16 units (varint), then its UTF-8 bytes — or, when it holds a
   * lone surrogate (which UTF-8 cannot carry: it would become U+FFFD and "\uD800" would meet
   * "\uFFFD"), `w`, its length, then each UTF-16 unit as 2 bytes, little-endian.
   *
   * The prefix counts UTF-16 units, not bytes, so it is known before the bytes are written; the
   * encoding stays self-delimiting, because a reader decoding well-formed UTF-8 knows after how many
   * code points it has read that many units. Short ASCII strings (object keys, labels) are copied by a
   * char-code loop: ~4× faster than a `Buffer.write` call at 4 characters.
   */
  str(s: string): void {
    const n = s.length;
    if (n > SHORT) return this.longStr(s);
    // Kept small so V8 inlines it into the walk: the common case, a short ASCII string.
    this.ensure(2 + 3 * SHORT);
    const buf = this.buf;
    const p = this.pos + 2;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return this.longStr(s);
      buf[p + i] = c;
    }
    buf[p - 2] = TAG_STRING;
    buf[p - 1] = n;
    this.pos = p + n;
  }

  /** A string that is long or not ASCII (see {@link str}). */
  private longStr(s: string): void {
    const n = s.length;
    if (n >= DIRECT_STRING && this.streaming && this.holds === 0 && isWellFormed(s)) return this.directString(s);
    this.ensure(6 + 3 * n);
    const tagAt = this.pos;
    this.buf[tagAt] = TAG_STRING;
    this.pos++;
    this.varint(n);
    let p = this.pos;
    const buf = this.buf;
    // UTF-8 takes at least one byte per UTF-16 unit, exactly one only for ASCII: as many bytes as
    // units means ASCII, which is well-formed, and saves the isWellFormed scan.
    const written = buf.write(s, p, "utf8");
    if (written === n || isWellFormed(s)) {
      this.pos = p + written;
      return;
    }
    buf[tagAt] = TAG_UTF16;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      buf[p++] = c & 0xff;
      buf[p++] = c >>> 8;
    }
    this.pos = p;
  }

  private directString(s: string): void {
    this.u8(TAG_STRING);
    this.varint(s.length);
    this.flush();
    this.hash!.update(s, "utf8");
  }

  /** Raw bytes. Large ones go to the hash without a copy when streaming. */
  bytes(data: Uint8Array): void {
    if (data.length >= CHUNK && this.streaming && this.holds === 0) {
      this.flush();
      this.hash!.update(data);
      return;
    }
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  /**
   * Sorts the entries of a Map/Set body in place: `ends[i]` is where entry `i` ends, the first one
   * starts at `start`, the last ends at `pos`. Entries compare as unsigned bytes; as every entry is
   * prefix-free, that orders by key first, then by value.
   *
   * The trick: each entry is read as a latin1 string (one char per byte, code = the byte) and the
   * strings are sorted with V8's native string comparison, which on one-byte strings is exactly an
   * unsigned byte comparison. `Buffer.compare` as the comparator crosses into C++ for every
   * comparison: sorting the 1,000 entries of a Map in random order took 630 µs that way, 295 µs
   * this way (about the same, ~140 µs, when the entries arrive nearly sorted).
   */
  sortEntries(start: number, ends: readonly number[]): void {
    if (ends.length < 2) return;
    const buf = this.buf;
    const parts: string[] = new Array<string>(ends.length);
    let from = start;
    for (let i = 0; i < ends.length; i++) {
      parts[i] = buf.toString("latin1", from, ends[i]!);
      from = ends[i]!;
    }
    parts.sort();
    let p = start;
    for (const part of parts) p += buf.write(part, p, "latin1");
  }

  /** Ends a digest: SHA-256 hex of everything written since `begin` (then {@link release}). */
  finishHex(): string {
    const rest = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.pos);
    const hex =
      this.hash !== undefined
        ? this.hash.update(rest).digest("hex")
        : oneShot !== undefined
          ? oneShot("sha256", rest, "hex")
          : createHash("sha256").update(rest).digest("hex");
    return hex;
  }

  /** Ends an encoding: a copy of the bytes written since `begin` (then {@link release}). */
  finishBytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  /** Drops what the writer held (after an error too), and a buffer that grew large. */
  release(): void {
    this.hash = undefined;
    this.pos = 0;
    this.holds = 0;
    if (this.buf.length > KEEP_AT_MOST) {
      this.buf = Buffer.allocUnsafe(CHUNK);
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    }
  }
}
