/**
 * Safe on-disk names for the directory store: a stage name becomes one directory name that can never
 * leave `<dir>/entries` and never clashes with another stage's, and a key is checked before it is
 * used as a path component.
 */

import { createHash } from "../lazy-builtins.js";
import { MemopipeError } from "../errors.js";

/** A key as the store accepts it: SHA-256, lowercase hex (lowercase so that case-insensitive file systems cannot fold two keys together). */
const KEY_PATTERN = /^[0-9a-f]{64}$/;

/** Windows device names, reserved whatever their extension (`con.txt` too) and their case. */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)/i;

/** A UTF-16 code unit that is half of a surrogate pair without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Past this many characters the readable part is cut and the name gets its hash suffix (well below the 255-byte limit of a name). */
const MAX_READABLE = 80;

/**
 * Whether `key` is a cache key as the store accepts it (64 lowercase hex characters).
 *
 * @example
 * isKey("ab".repeat(32)); // true
 * isKey("latest");        // false
 */
export function isKey(key: unknown): key is string {
  return typeof key === "string" && KEY_PATTERN.test(key);
}

/**
 * Checks that `key` is a cache key (64 lowercase hex characters) and returns it.
 *
 * @throws MemopipeError when it is not: the key becomes a directory name, so anything else could
 *   escape the cache directory or clash with another entry.
 * @example
 * assertKey(createHash("sha256").update("x").digest("hex")); // ok
 * assertKey("../../etc"); // throws MemopipeError
 */
export function assertKey(key: string): string {
  if (!isKey(key)) {
    const k: unknown = key;
    const shown = typeof k === "string" ? JSON.stringify(k.length > 80 ? `${k.slice(0, 80)}…` : k) : typeof k;
    throw new MemopipeError(`cache key ${shown} is not a SHA-256 digest (64 lowercase hex characters); keys come from cacheKey(), not from user text`);
  }
  return key;
}

/**
 * The directory name that holds a stage's entries: readable where the name is, and safe whatever it is.
 *
 * The encoding, and why it is injective (two stages never share a directory):
 * - every UTF-8 byte outside `[A-Za-z0-9._-]` becomes `%XX` (uppercase hex), `%` and `~` included,
 *   so `/`, `\`, NUL, `:` and every non-ASCII character are escaped; a `.` in first or last place
 *   is escaped too, so `.`, `..`, `.hidden` and Windows' dropped trailing dots cannot occur;
 * - Windows device names (`con`, `NUL.txt`…, whatever follows the first dot) get their first letter
 *   escaped (`%63on`);
 * - each character is either itself or its escape, so the name decodes back to the stage: distinct
 *   stages give distinct encodings;
 * - on a case-insensitive file system (macOS, Windows) `A` and `a` would fold together, so a name
 *   with an uppercase letter gets a suffix `~` + 16 hex digits of the SHA-256 of the stage name; so
 *   do names whose encoding is longer than 80 characters
 *   (cut to 80 first), the empty name and names that are not well-formed UTF-16 (lone surrogates,
 *   which UTF-8 cannot carry: the digest is taken over the UTF-16 code units). Names without a
 *   suffix never contain `~` (it is escaped) and have only lowercase literal letters and uppercase
 *   escapes, so they cannot fold onto each other nor onto a suffixed name.
 * The store also checks the stage recorded in every entry, so even a 64-bit digest collision would
 * read as a damaged entry, never as another stage's value.
 *
 * @example
 * stageDirName("register");   // "register"
 * stageDirName("../x");       // "%2E.%2Fx"
 * stageDirName("Register");   // "Register~" + 16 hex digits
 */
export function stageDirName(stage: string): string {
  if (typeof stage !== "string") throw new MemopipeError(`a stage name must be a string, got ${typeof stage}`);
  const bytes = Buffer.from(stage, "utf8");
  let readable = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const literal =
      (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2d || (b === 0x2e && i !== 0 && i !== bytes.length - 1);
    readable += literal ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  // A device name stays one whatever follows its first dot (`nul.txt~x` too): escape its first letter.
  if (RESERVED.test(readable)) readable = `%${readable.charCodeAt(0).toString(16).toUpperCase()}${readable.slice(1)}`;
  const needsSuffix = readable === "" || readable.length > MAX_READABLE || /[A-Z]/.test(stage) || LONE_SURROGATE.test(stage);
  if (!needsSuffix) return readable;
  let cut = readable.slice(0, MAX_READABLE);
  // do not split an escape: drop a trailing "%" or "%X"
  const pct = cut.lastIndexOf("%");
  if (pct >= 0 && pct > cut.length - 3) cut = cut.slice(0, pct);
  const digest = createHash("sha256").update(Buffer.from(stage, "utf16le")).digest("hex").slice(0, 16);
  return `${cut}~${digest}`;
}
