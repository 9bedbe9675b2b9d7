/**
 * A small diff for the report: the changes between two texts, by lines (JSON values) or by tokens
 * (normalised sources, which are one line each). A longest-common-subsequence table over at most a
 * few thousand items: the texts a report compares are a helper's source or an input's JSON, and a
 * dependency (jsdiff) for thirty lines was not worth its weight in every install; past the limit
 * the whole old text is shown removed and the new one added.
 */

/** One piece of a diff. */
export interface DiffPart {
  readonly op: "same" | "del" | "add";
  readonly text: string;
}

const LIMIT = 4_000_000; // cells of the table

/**
 * The diff of `a` and `b`, by line or by token (`\w+` runs, white space runs, single characters).
 *
 * @example
 * diffText("x > 0.5", "x > 0.6", "tokens");
 * // [{ op: "same", text: "x > 0." }, { op: "del", text: "5" }, { op: "add", text: "6" }]
 */
export function diffText(a: string, b: string, by: "lines" | "tokens"): DiffPart[] {
  const split = (s: string) => (by === "lines" ? s.split(/(?<=\n)/) : (s.match(/\s+|[\w$]+|[^\s\w$]/g) ?? []));
  const x = split(a);
  const y = split(b);
  if (x.length * y.length > LIMIT) return [{ op: "del", text: a }, { op: "add", text: b }].filter((p) => p.text) as DiffPart[];
  // lcs[i][j]: the longest common subsequence of x[i..] and y[j..]
  const n = x.length;
  const m = y.length;
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = x[i] === y[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const parts: DiffPart[] = [];
  const push = (op: DiffPart["op"], text: string) => {
    const last = parts.at(-1);
    if (last?.op === op) parts[parts.length - 1] = { op, text: last.text + text };
    else parts.push({ op, text });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      push("same", x[i]!);
      i++;
      j++;
    } else if (lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!) push("del", x[i++]!);
    else push("add", y[j++]!);
  }
  while (i < n) push("del", x[i++]!);
  while (j < m) push("add", y[j++]!);
  return parts;
}
