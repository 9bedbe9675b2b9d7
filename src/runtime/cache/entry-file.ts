/**
 * The bytes of one cache entry: one file holding a checksum, a small header the hit path reads, the
 * readable record and the outputs payload. One file per entry (ccache's layout, not a directory of
 * files as before) is what makes a verified hit one `open` + one `read`, and a miss one write and
 * one rename.
 *
 * ```
 * memopipe-entry 3 crc32 <8 hex digits>\n        line 1, 32 bytes: the CRC-32 of every byte after it
 * {"stage":…,"key":…,"codec":…,"size":…,"record":…,"files":[…]}\n   line 2: the hot header (what a hit needs)
 * {"format":2,"stage":…,"inputs":{…},"code":{…},…}\n                  the record, readable JSON (`record` bytes)
 * <payload>                                                           the outputs, `size` bytes, in `codec`
 * ```
 *
 * Why CRC-32 and not SHA-256 (entries of format 2, still read, carry a SHA-256): the checksum is
 * there to catch accidents — a torn write, bit rot, an edit — and CRC-32 catches every burst of up
 * to 32 flipped bits and all but one in 2^32 of the rest, as git's pack index and zip files rely on.
 * It is not a defence against someone who can write the cache directory: they could recompute any
 * unkeyed digest, SHA-256 included (and the key, the content address, stays SHA-256). It costs
 * ~2 µs on a 12 KB entry where SHA-256 costs ~7 µs, a sixth of a whole verified hit.
 *
 * Why a checksum over everything and no fsync: a reader must never take a torn or edited entry for
 * a hit. Entries are written to a temp file and renamed into place, so a crash leaves either no
 * entry or a whole one — except after a power loss without fsync, when the renamed file may hold
 * zeros or a prefix. The checksum catches that (and bit rot, and people editing files), so the
 * default needs no fsync (cacache and ccache do not fsync either); `durable: true` adds one.
 *
 * Why the hot header: the record (inputs manifest, code parts) can be kilobytes of JSON; a hit only
 * needs where the payload starts, its codec, and the output files to verify. Parsing ~100 bytes
 * instead of the whole record saves ~10 µs per hit; the record is parsed only to explain a miss or
 * to show the entry.
 */
import { crc32, hash } from "../lazy-builtins.js";
import type { EntryRecord, FileRecord } from "./types.js";

const MAGIC = "memopipe-entry 3 crc32 ";
/** Bytes of line 1: the magic, 8 hex digits, a newline. */
export const LINE1_BYTES = MAGIC.length + 8 + 1;
/** Line 1 of an entry of format 2 (read, no longer written): the SHA-256 of every byte after it. */
const MAGIC_V2 = "memopipe-entry 2 sha256 ";
const LINE1_BYTES_V2 = MAGIC_V2.length + 64 + 1;

/**
 * Where line 1 ends (the checksummed bytes start), when it is a well-formed line 1 of format 3 or 2;
 * -1 otherwise. Read by `memopipe cache ls` and `gc` too, which look at headers without checking sums.
 *
 * @example
 * const start = line1End(bytes); // 32 (format 3), 89 (format 2), -1 (not an entry)
 */
export function line1End(bytes: Buffer): number {
  if (bytes.length >= LINE1_BYTES && bytes[LINE1_BYTES - 1] === 0x0a && bytes.toString("latin1", 0, MAGIC.length) === MAGIC) return LINE1_BYTES;
  if (bytes.length >= LINE1_BYTES_V2 && bytes[LINE1_BYTES_V2 - 1] === 0x0a && bytes.toString("latin1", 0, MAGIC_V2.length) === MAGIC_V2) return LINE1_BYTES_V2;
  return -1;
}

/** Whether line 1's checksum is that of the bytes after it (`start` from {@link line1End}). */
function checksumHolds(bytes: Buffer, start: number): boolean {
  if (start === LINE1_BYTES) return crc32(bytes.subarray(LINE1_BYTES)).toString(16).padStart(8, "0") === bytes.toString("latin1", MAGIC.length, MAGIC.length + 8);
  return hash("sha256", bytes.subarray(start), "hex") === bytes.toString("latin1", MAGIC_V2.length, MAGIC_V2.length + 64);
}

/** What the hot header holds. */
interface Hot {
  readonly stage: string;
  readonly key: string;
  readonly codec: string;
  /** Payload bytes. */
  readonly size: number;
  /** Bytes of the record line, its newline included. */
  readonly record: number;
  readonly files?: readonly FileRecord[];
}

/**
 * An entry file parsed and verified: its header, the payload's place in the bytes, and a lazy
 * record parser.
 *
 * @example
 * const e = parseEntry(readFileSync(path), { stage: "register", key });
 * if (typeof e === "string") console.warn(e); else decode(e.codec, e.bytes.subarray(e.payloadStart));
 */
export interface ParsedEntry {
  readonly bytes: Buffer;
  readonly codec: string;
  readonly size: number;
  readonly payloadStart: number;
  readonly files: readonly FileRecord[];
  /** Parses the record line (only when a miss is explained or the entry shown). */
  record(): EntryRecord;
}

/**
 * The bytes of an entry file for a record and its encoded outputs.
 *
 * @example
 * const bytes = encodeEntry(record, payload); // write to a temp file, then rename into place
 */
export function encodeEntry(record: EntryRecord, payload: Uint8Array): Buffer {
  const recordLine = Buffer.from(`${JSON.stringify(record)}\n`, "utf8");
  const hot: Hot = {
    stage: record.stage,
    key: record.key,
    codec: record.outputs.codec,
    size: payload.length,
    record: recordLine.length,
    ...(record.outputFiles?.length ? { files: record.outputFiles } : {}),
  };
  const hotLine = Buffer.from(`${JSON.stringify(hot)}\n`, "utf8");
  const out = Buffer.allocUnsafe(LINE1_BYTES + hotLine.length + recordLine.length + payload.length);
  hotLine.copy(out, LINE1_BYTES);
  recordLine.copy(out, LINE1_BYTES + hotLine.length);
  out.set(payload, LINE1_BYTES + hotLine.length + recordLine.length);
  out.write(`${MAGIC}${crc32(out.subarray(LINE1_BYTES)).toString(16).padStart(8, "0")}\n`, 0, "latin1");
  return out;
}

/**
 * Verifies and parses an entry file's bytes: the checksum, the header, that it belongs where it was
 * found (stage and key), and that the sizes add up. Returns what is wrong, as text, when anything is.
 *
 * @example
 * const e = parseEntry(bytes, { stage: "register", key });
 * if (typeof e === "string") moveAside(path, e);
 */
export function parseEntry(bytes: Buffer, expect: { readonly stage?: string; readonly key: string }): ParsedEntry | string {
  const start = line1End(bytes);
  if (start < 0) return bytes.length === 0 ? "the entry file is empty (torn write?)" : "not a memopipe entry (bad first line)";
  if (!checksumHolds(bytes, start)) return "checksum mismatch";
  const hotEnd = bytes.indexOf(0x0a, start);
  if (hotEnd < 0) return "no header line";
  let hot: Hot;
  try {
    hot = JSON.parse(bytes.toString("utf8", start, hotEnd)) as Hot;
  } catch {
    return "the header is not JSON";
  }
  if (typeof hot !== "object" || hot === null || typeof hot.codec !== "string" || !Number.isSafeInteger(hot.size) || !Number.isSafeInteger(hot.record)) {
    return "the header lacks its fields";
  }
  if (hot.key !== expect.key || (expect.stage !== undefined && hot.stage !== expect.stage)) return "the entry's stage/key does not match its location";
  const recordStart = hotEnd + 1;
  const payloadStart = recordStart + hot.record;
  if (hot.size < 0 || hot.record < 1 || payloadStart + hot.size !== bytes.length) return `size mismatch (header says ${payloadStart + hot.size} bytes, file has ${bytes.length})`;
  return {
    bytes,
    codec: hot.codec,
    size: hot.size,
    payloadStart,
    files: Array.isArray(hot.files) ? hot.files : [],
    record: () => JSON.parse(bytes.toString("utf8", recordStart, payloadStart - 1)) as EntryRecord,
  };
}
