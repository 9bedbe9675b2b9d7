import { FileRef } from "./types.js";
import { UnrecordableValueError } from "../errors.js";

/**
 * `file(path)` values in a stage's *outputs* (memori's stages pass files along: `register` returns
 * the registered image, `segment` reads it). A `FileRef` is a class instance, which the codecs do
 * not rebuild, so in a record it is written as `{ "$memopipe:file": path }` and read back as a
 * `FileRef`. (Its contents are verified on a hit through the entry's `outputFiles`.)
 */
const TAG = "$memopipe:file";

/**
 * A copy of `value` with every `FileRef` replaced by its tagged form. A plain object that already
 * has the tag as a key cannot be told apart and is refused.
 *
 * @example
 * encodeFileRefs({ out: file("a.nii") }); // { out: { "$memopipe:file": "a.nii" } }
 */
export function encodeFileRefs(value: unknown, path = "outputs"): unknown {
  if (value instanceof FileRef) return { [TAG]: value.path };
  if (Array.isArray(value)) return value.map((v, i) => encodeFileRefs(v, `${path}[${i}]`));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, encodeFileRefs(v, `${path}<value>`)]));
  if (value instanceof Set) return new Set([...value].map((v) => encodeFileRefs(v, `${path}<element>`)));
  if (isPlainObject(value)) {
    if (Object.hasOwn(value, TAG)) throw new UnrecordableValueError(`${path}.${TAG}`, `reserved key (${TAG})`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encodeFileRefs(v, `${path}.${k}`);
    return out;
  }
  return value;
}

/**
 * `value` with every tagged file turned back into a `FileRef`.
 *
 * @example
 * decodeFileRefs({ out: { "$memopipe:file": "a.nii" } }); // { out: FileRef { path: "a.nii" } }
 */
export function decodeFileRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeFileRefs);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, decodeFileRefs(v)]));
  if (value instanceof Set) return new Set([...value].map(decodeFileRefs));
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === TAG && typeof value[TAG] === "string") return new FileRef(value[TAG]);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = decodeFileRefs(v);
    return out;
  }
  return value;
}

/** Whether `value` holds a `FileRef` anywhere (so the hit path decodes only when it must). */
export function hasFileRefs(value: unknown, seen = new Set<unknown>()): boolean {
  if (value instanceof FileRef) return true;
  if (typeof value !== "object" || value === null || seen.has(value)) return false;
  seen.add(value); // shared and cyclic values are looked at once
  const has = (v: unknown) => hasFileRefs(v, seen);
  if (Array.isArray(value)) return value.some(has);
  if (value instanceof Map) return [...value.values()].some(has);
  if (value instanceof Set) return [...value].some(has);
  if (isPlainObject(value)) return Object.values(value).some(has);
  return false;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
