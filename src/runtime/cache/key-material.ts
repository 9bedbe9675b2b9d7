/**
 * The key material of a stage run — each input's digest and the files it names — in one walk per
 * input: the same result as `resolveFiles` then `digest`, without walking the value twice and
 * without building the copy with `ResolvedFile`s in it.
 *
 * How: the key encoder asks a {@link FileResolver} for every string and `file()` in a value
 * position. The resolver answers from the stat cache synchronously (`FileDigests.cachedDigest`,
 * one `statSync`); a file it cannot vouch for (new, changed, within the racy window) is noted and a
 * placeholder encoded. If any was noted, those files are read (async, at most 16 at once) and the
 * input is encoded once more, now with every answer known. So a hit whose files are all in the stat
 * cache is one synchronous walk; a miss costs one extra walk, next to reading the files.
 */
import { UnrecordableValueError } from "../errors.js";
import { digestWith, type FileResolver } from "./canonical.js";
import { type FileDigests, mayBePath, readAll } from "./file-digest.js";
import { type FileRef, ResolvedFile } from "./types.js";

/**
 * One input's key material: its digest (as `digest(resolveFiles(value).value)`) and the files it
 * names (each path once, in the order first met).
 *
 * @example
 * const { digest, files } = material.ref; // "9f2c…", [ResolvedFile { path: "ref.nii", … }]
 */
export interface InputKey {
  readonly digest: string;
  readonly files: readonly ResolvedFile[];
}

/** What a file not yet read is encoded as in the first walk (whose digest is then thrown away). */
const PENDING = new ResolvedFile("", "", 0);

/**
 * Answers the encoder from `known` (this call's answers: a digest, or `null` for "not a regular
 * file") and the stat cache, noting what must be read.
 */
class Resolver implements FileResolver {
  readonly files: ResolvedFile[] = [];
  readonly pending = new Set<string>();
  private readonly noted = new Set<string>();

  constructor(
    private readonly digests: FileDigests,
    private readonly hashStringPaths: boolean,
    private readonly known: Map<string, ResolvedFile | null>,
  ) {}

  file(ref: FileRef): ResolvedFile {
    const f = this.lookup(ref.path);
    // null: missing or not a regular file; `digests.digest` (in the read step) throws the error that says which.
    if (f === undefined || f === null) {
      this.pending.add(ref.path);
      return PENDING;
    }
    return this.note(f);
  }

  string(s: string): ResolvedFile | undefined {
    if (!this.hashStringPaths || !mayBePath(s)) return undefined;
    const f = this.lookup(s);
    if (f === undefined) {
      this.pending.add(s);
      return PENDING;
    }
    return f === null ? undefined : this.note(f);
  }

  private lookup(p: string): ResolvedFile | null | undefined {
    let f = this.known.get(p);
    if (f === undefined) {
      f = this.digests.cachedDigest(p);
      if (f !== undefined) this.known.set(p, f);
    }
    return f;
  }

  private note(f: ResolvedFile): ResolvedFile {
    if (!this.noted.has(f.path)) {
      this.noted.add(f.path);
      this.files.push(f);
    }
    return f;
  }
}

/**
 * Each input's digest and files, in one walk per input on a hit (see the top of this file). The
 * result has a null prototype, so an input named `__proto__` is an entry like any other.
 *
 * Equivalent to, per input `name`:
 * `const { value, files } = await resolveFiles(inputs[name], digests, options); digest(value, "inputs." + name)`.
 *
 * @param options.hashStringPaths strings that name an existing regular file count by content (memori's behaviour).
 * @param options.stage named in an {@link UnrecordableValueError} (as `stage 'x': inputs.a.f is a function…`).
 * @throws UnrecordableValueError for a value the key cannot record (function, class instance, cycle…), with its path.
 * @throws MemopipeError when a `file()` names a missing file, or a file keeps changing while read.
 * @example
 * const material = await keyMaterial({ ref: file("ref.nii"), lr: 0.1 }, digests, { hashStringPaths: true, stage: "register" });
 * cacheKey({ stage: "register", code, inputs: { ref: material.ref.digest, lr: material.lr.digest } });
 */
export async function keyMaterial(
  inputs: Readonly<Record<string, unknown>>,
  digests: FileDigests,
  options: { readonly hashStringPaths: boolean; readonly stage?: string },
): Promise<Record<string, InputKey>> {
  await digests.load();
  const known = new Map<string, ResolvedFile | null>();
  const out = Object.create(null) as Record<string, InputKey>;
  for (const name of Object.keys(inputs).sort()) {
    try {
      out[name] = await inputKey(inputs[name], `inputs.${name}`, digests, options.hashStringPaths, known);
    } catch (error) {
      throw namingStage(error, options.stage);
    }
  }
  return out;
}

/**
 * {@link keyMaterial} without a promise, when it can answer at once: the stat cache is loaded and
 * every file the inputs name is in it (a hit's usual case). `undefined` when a file must be read
 * (the caller then awaits `keyMaterial`). The hit path saves the five microtask hops of the
 * asynchronous version (~2 µs of a ~40 µs hit).
 *
 * @throws UnrecordableValueError as `keyMaterial` does.
 * @example
 * const material = keyMaterialSync(inputs, digests, options) ?? (await keyMaterial(inputs, digests, options));
 */
export function keyMaterialSync(
  inputs: Readonly<Record<string, unknown>>,
  digests: FileDigests,
  options: { readonly hashStringPaths: boolean; readonly stage?: string },
): Record<string, InputKey> | undefined {
  if (!digests.ready) return undefined;
  const known = new Map<string, ResolvedFile | null>();
  const out = Object.create(null) as Record<string, InputKey>;
  for (const name of Object.keys(inputs).sort()) {
    const resolver = new Resolver(digests, options.hashStringPaths, known);
    let d: string;
    try {
      d = digestWith(inputs[name], `inputs.${name}`, resolver);
    } catch (error) {
      throw namingStage(error, options.stage);
    }
    if (resolver.pending.size > 0) return undefined;
    out[name] = { digest: d, files: resolver.files };
  }
  return out;
}

/** An {@link UnrecordableValueError} that names no stage yet, named after `stage`; any other error as it is. */
function namingStage(error: unknown, stage: string | undefined): unknown {
  if (error instanceof UnrecordableValueError && stage !== undefined && error.stage === undefined) return new UnrecordableValueError(error.path, error.kind, stage);
  return error;
}

async function inputKey(
  value: unknown,
  path: string,
  digests: FileDigests,
  hashStringPaths: boolean,
  known: Map<string, ResolvedFile | null>,
): Promise<InputKey> {
  const first = new Resolver(digests, hashStringPaths, known);
  const d = digestWith(value, path, first);
  if (first.pending.size === 0) return { digest: d, files: first.files };
  const read = new Map<string, ResolvedFile>();
  await readAll([...first.pending], digests, read);
  for (const [p, f] of read) known.set(p, f);
  // Every path the first walk asked about is known now: this walk notes nothing pending.
  const second = new Resolver(digests, hashStringPaths, known);
  return { digest: digestWith(value, path, second), files: second.files };
}
