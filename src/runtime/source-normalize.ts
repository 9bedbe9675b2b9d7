/**
 * Normalises JavaScript source for the fallback code fingerprint: comments removed and runs of
 * whitespace collapsed, *outside* string and template literals only, so that a reformatted or
 * re-commented function keeps its fingerprint while any change inside a literal (`"a  b"` →
 * `"a b"`, `"a//b"`) changes it.
 *
 * A small scanner, not a parser: it tracks `'…'`, `"…"` and `` `…${…}…` `` (nested templates
 * included) and `//` / `/* *\/` comments. A `/` that starts neither comment is kept as code; a
 * regular expression containing a quote makes the scanner treat the following code as a string
 * until the next matching quote, which only means less of it is normalised (never that a change
 * is missed).
 *
 * @example
 * normalizeSource("(x) => { // add\n  return x   +  1; }"); // "(x) => { return x + 1; }"
 */
export function normalizeSource(source: string): string {
  let out = "";
  let pendingSpace = false;
  const templateDepth: number[] = []; // brace depth at which each open `${` returns to its template
  let braces = 0;
  let i = 0;
  const emit = (text: string) => {
    if (pendingSpace && out.length > 0) out += " ";
    pendingSpace = false;
    out += text;
  };
  const readString = (quote: string, start: number): number => {
    let j = start + 1;
    while (j < source.length && source[j] !== quote) j += source[j] === "\\" ? 2 : 1;
    return Math.min(j + 1, source.length);
  };
  /** Reads template text from `start` (just after a backtick or a closing `}`) to the next `${` or closing backtick. */
  const readTemplate = (start: number): number => {
    let j = start;
    while (j < source.length) {
      if (source[j] === "\\") j += 2;
      else if (source[j] === "`") return j + 1;
      else if (source[j] === "$" && source[j + 1] === "{") {
        templateDepth.push(braces);
        braces++;
        return j + 2;
      } else j++;
    }
    return j;
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === "/" && source[i + 1] === "/") {
      while (i < source.length && source[i] !== "\n") i++;
      pendingSpace = true;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? source.length : end + 2;
      pendingSpace = true;
    } else if (/\s/.test(c)) {
      pendingSpace = true;
      i++;
    } else if (c === "'" || c === '"') {
      const end = readString(c, i);
      emit(source.slice(i, end));
      i = end;
    } else if (c === "`") {
      const end = readTemplate(i + 1);
      emit(source.slice(i, end));
      i = end;
    } else if (c === "}" && templateDepth.length > 0 && templateDepth.at(-1) === braces - 1) {
      templateDepth.pop();
      braces--;
      const end = readTemplate(i + 1);
      emit(source.slice(i, end));
      i = end;
    } else {
      if (c === "{") braces++;
      else if (c === "}") braces--;
      emit(c);
      i++;
    }
  }
  return out;
}
