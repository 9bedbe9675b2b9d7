/**
 * What a function's source shows, for the graph's labels: its parameter names (an ingest edge says
 * which parameter it fills) and the keys of the object literal it returns (a DAG edge says which
 * outputs flow along it). Read from `Function.prototype.toString`, comments removed, by a small
 * scanner that skips strings and template literals and balances brackets: best effort, and
 * `undefined` wherever the source does not show the answer plainly (a destructured parameter, a
 * spread in the returned object, a computed key, a return of something else).
 */
import { normalizeSource } from "../source-normalize.js";

const IDENT = /^[A-Za-z_$][\w$]*/;

/**
 * The names of `fn`'s parameters, `undefined` for one that is destructured (or for all, when the
 * source cannot be read).
 *
 * @example
 * parameterNames((s: string, d: number) => s + d); // ["s", "d"]
 * parameterNames(({ a }) => a);                    // [undefined]
 */
export function parameterNames(fn: Function): (string | undefined)[] | undefined {
  const src = sourceOf(fn);
  if (src === undefined) return undefined;
  const single = /^(?:async\s*)?([A-Za-z_$][\w$]*)\s*=>/.exec(src);
  if (single) return [single[1]!];
  const open = src.indexOf("(");
  if (open < 0) return undefined;
  const close = matching(src, open);
  if (close < 0) return undefined;
  return splitTopLevel(src.slice(open + 1, close))
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map((p) => IDENT.exec(p.replace(/^\.\.\./, ""))?.[0]);
}

/**
 * The keys of the object literal `fn` returns: the body of an arrow `=> ({ a, b: … })`, or every
 * `return { … }` at the top level of a block body (all of them must return object literals).
 *
 * @example
 * returnedKeys(({ x }: { x: number }) => ({ doubled: x * 2, x })); // ["doubled", "x"]
 * returnedKeys((x: number) => x);                                  // undefined
 */
export function returnedKeys(fn: Function): string[] | undefined {
  const src = sourceOf(fn);
  if (src === undefined) return undefined;
  const body = bodyStart(src);
  if (body < 0) return undefined;
  if (src[body] === "(") {
    const inner = skipSpace(src, body + 1);
    return src[inner] === "{" ? objectKeys(src, inner) : undefined;
  }
  if (src[body] !== "{") return undefined;
  // a block body: its top-level statements `return { … }`
  const end = matching(src, body);
  if (end < 0) return undefined;
  const keys = new Set<string>();
  let found = false;
  let depth = 0;
  for (let i = body + 1; i < end; i++) {
    const c = src[i]!;
    if (c === '"' || c === "'" || c === "`") {
      i = skipString(src, i) - 1;
      continue;
    }
    if (c === "{" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ")" || c === "]") depth--;
    else if (depth === 0 && src.startsWith("return", i) && !/[\w$]/.test(src[i - 1] ?? "") && !/[\w$]/.test(src[i + 6] ?? "")) {
      const at = skipSpace(src, i + 6);
      if (src[at] !== "{") return undefined;
      const ks = objectKeys(src, at);
      if (!ks) return undefined;
      for (const k of ks) keys.add(k);
      found = true;
    }
  }
  return found ? [...keys] : undefined;
}

function sourceOf(fn: Function): string | undefined {
  try {
    const text = normalizeSource(Function.prototype.toString.call(fn));
    return text.includes("[native code]") ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Where the body starts: after `=>` for an arrow, at the `{` after the parameter list otherwise. */
function bodyStart(src: string): number {
  const single = /^(?:async\s*)?[A-Za-z_$][\w$]*\s*=>\s*/.exec(src);
  if (single) return single[0].length;
  const open = src.indexOf("(");
  if (open < 0) return -1;
  const close = matching(src, open);
  if (close < 0) return -1;
  let at = skipSpace(src, close + 1);
  if (src.startsWith("=>", at)) return skipSpace(src, at + 2);
  return src[at] === "{" ? at : -1;
}

/** The keys of the object literal whose `{` is at `open`, or `undefined` for a spread or computed key. */
function objectKeys(src: string, open: number): string[] | undefined {
  const close = matching(src, open);
  if (close < 0) return undefined;
  const keys: string[] = [];
  for (const raw of splitTopLevel(src.slice(open + 1, close))) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry.startsWith("...") || entry.startsWith("[")) return undefined;
    const quoted = /^(["'])((?:\\.|(?!\1).)*)\1/.exec(entry);
    if (quoted) {
      keys.push(quoted[2]!);
      continue;
    }
    // `get x()`, `async x()`, `*x()` before the name
    const name = IDENT.exec(entry.replace(/^(?:async\s+|get\s+|set\s+)?\*?\s*/, "")) ?? /^\d+/.exec(entry);
    if (!name) return undefined;
    keys.push(name[0]);
  }
  return keys;
}

/** Splits at the commas outside brackets and strings. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === "`") i = skipString(text, i) - 1;
    else if (c === "{" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ")" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

/** The index of the bracket closing the one at `open`, or -1. */
function matching(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i]!;
    if (c === '"' || c === "'" || c === "`") i = skipString(src, i) - 1;
    else if (c === "{" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ")" || c === "]") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** The index just after the string or template literal starting at `start` (templates' `${…}` balanced). */
function skipString(src: string, start: number): number {
  const quote = src[start]!;
  let i = start + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\") i += 2;
    else if (c === quote) return i + 1;
    else if (quote === "`" && c === "$" && src[i + 1] === "{") {
      const end = matching(src, i + 1);
      if (end < 0) return src.length;
      i = end + 1;
    } else i++;
  }
  return src.length;
}

function skipSpace(src: string, i: number): number {
  while (i < src.length && /\s/.test(src[i]!)) i++;
  return i;
}
