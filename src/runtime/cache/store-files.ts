/**
 * File-level helpers of the directory store (store.ts): durable writes, the record check, sizes.
 */

import { createHash } from "node:crypto";
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { CODEC_FILES } from "./codec.js";
import type { EntryRecord } from "./types.js";

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Writes a new file (failing if it exists) and fsyncs it, so that after the rename that publishes
 * it the bytes are on disk, not only in the page cache (a power cut, not just a killed process).
 *
 * @example
 * await writeSynced(join(work, "entry.json"), text);
 */
export async function writeSynced(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, "wx");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Fsyncs a directory, making the names created or renamed in it durable. Best effort: some systems
 * (Windows) cannot open a directory for that, and the data itself is already synced.
 *
 * @example
 * await syncDir(stageDir); // after rename(work, join(stageDir, key))
 */
export async function syncDir(path: string): Promise<void> {
  try {
    const handle = await open(path, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // not supported here
  }
}

/**
 * The `code` of a Node system error (`ENOENT`…), if it has one.
 *
 * @example
 * try { await stat(p); } catch (e) { if (errorCode(e) === "ENOENT") return undefined; throw e; }
 */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Whether anything exists at `path` (a dangling symlink counts).
 *
 * @example
 * if (await pathExists(join(entryDir, "entry.json"))) ...
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Bytes of the files under `path` (or of the file itself); 0 for what is gone. Symlinks are not followed.
 *
 * @example
 * await sizeOnDisk(join(dir, "tmp")); // 1048623
 */
export async function sizeOnDisk(path: string): Promise<number> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) total += await sizeOnDisk(join(path, name));
  return total;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks the text of an `entry.json`: valid JSON, the shape of an `EntryRecord` (outputs in one of
 * the codec files, never another path), and its checksum (the record without its `checksum`
 * field, re-serialized as the writer did: `JSON.stringify(…, null, 2)` of a parsed record is the
 * same text whatever the file's whitespace, so only a change of content fails). Returns the record,
 * or the reason it is not one.
 *
 * @example
 * const r = checkRecord(await readFile(join(entryDir, "entry.json")));
 * if (typeof r === "string") console.log(`corrupt: ${r}`);
 */
export function checkRecord(text: Buffer): EntryRecord | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString("utf8"));
  } catch {
    return "entry.json is not valid JSON";
  }
  const shape = (what: string): string => `entry.json does not have the shape of a record (${what})`;
  if (!isObject(parsed)) return shape("not an object");
  if (parsed.format !== 1) return shape(`format ${JSON.stringify(parsed.format)}, expected 1`);
  if (typeof parsed.stage !== "string" || typeof parsed.key !== "string") return shape("stage or key");
  if (typeof parsed.createdAt !== "string" || Number.isNaN(Date.parse(parsed.createdAt))) return shape("createdAt");
  if (!isObject(parsed.inputs)) return shape("inputs");
  if (!isObject(parsed.code) || typeof parsed.code.fingerprint !== "string") return shape("code");
  const outputs = parsed.outputs;
  if (!isObject(outputs) || (outputs.codec !== "json" && outputs.codec !== "v8")) return shape("outputs.codec");
  if (outputs.file !== CODEC_FILES[outputs.codec]) return shape("outputs.file");
  if (typeof outputs.sha256 !== "string" || !HEX64.test(outputs.sha256)) return shape("outputs.sha256");
  if (typeof outputs.size !== "number" || !Number.isSafeInteger(outputs.size) || outputs.size < 0) return shape("outputs.size");
  if (parsed.outputFiles !== undefined && !Array.isArray(parsed.outputFiles)) return shape("outputFiles");
  const { checksum, ...body } = parsed;
  if (typeof checksum !== "string") return "entry.json has no checksum";
  if (createHash("sha256").update(JSON.stringify(body, null, 2)).digest("hex") !== checksum) return "entry.json checksum mismatch (the record was edited)";
  return parsed as unknown as EntryRecord;
}
