/**
 * Normalised code text: what a declaration's fingerprint hashes, so that comments and formatting
 * do not count.
 */
import { ts } from "ts-morph";

/**
 * Whether a node is there only for the type checker (no run-time effect): type annotations and
 * arguments, interfaces, type aliases, `implements` clauses, overload signatures, ambient
 * (`declare`) declarations. The dependency walk does not follow references inside them, and the
 * normalised text leaves them out, so a type-only edit does not change a fingerprint.
 *
 * `ExpressionWithTypeArguments` counts as a type node for TypeScript, but in `class A extends B<T>`
 * (and instantiation expressions `f<T>`) its expression is run-time code: it is kept, only its
 * type arguments are skipped.
 *
 * @example
 * isTypeOnly(paramDecl.type!); // true
 */
export function isTypeOnly(node: ts.Node): boolean {
  switch (node.kind) {
    case ts.SyntaxKind.ExpressionWithTypeArguments:
      return false;
    case ts.SyntaxKind.InterfaceDeclaration:
    case ts.SyntaxKind.TypeAliasDeclaration:
    case ts.SyntaxKind.TypeParameter:
    case ts.SyntaxKind.IndexSignature:
      return true;
    case ts.SyntaxKind.HeritageClause:
      return (node as ts.HeritageClause).token === ts.SyntaxKind.ImplementsKeyword;
    case ts.SyntaxKind.FunctionDeclaration:
    case ts.SyntaxKind.MethodDeclaration:
    case ts.SyntaxKind.Constructor:
      if (!(node as ts.FunctionLikeDeclaration).body) return true;
      break;
    case ts.SyntaxKind.ImportDeclaration:
      return (node as ts.ImportDeclaration).importClause?.isTypeOnly === true;
  }
  if (ts.isTypeNode(node)) return true;
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DeclareKeyword);
}

const CLOSERS = new Set([")", "]", "}", ">"]);
const scanners = new Map<ts.LanguageVariant, ts.Scanner>();

/**
 * The tokens of a node, with trivia (comments, whitespace, line breaks), semicolons, a trailing
 * comma before a closing bracket, string quote style and type-only code (annotations with their
 * `:`, `as T`, `<T>` type arguments and parameters, interfaces…) removed, joined with NUL.
 * Two texts that differ only in those give the same string.
 *
 * How: the AST is walked with `forEachChild`; identifiers and literals are emitted from the node
 * (string literals by value, so `'a'` and `"a"` agree; numbers by their value text, so `1_000`
 * and `1000` agree), and the punctuation and keywords *between* children (which have no node of
 * their own: `function`, `(`, `=>`, `,`, …) are scanned from the source text with a scanner that
 * skips trivia. Scanning only those gaps is what makes a plain scanner safe here: template
 * literals and regular expressions, which a context-free scanner gets wrong, are nodes and never
 * scanned. Semicolons are dropped (ASI style must not count), and a `;` marker is emitted before
 * every element of a statement or member list instead, so `a\n(b)` (one call) and `a;\n(b)` (two
 * statements) still differ.
 *
 * @example
 * const parse = (code: string) => ts.createSourceFile("a.ts", code, ts.ScriptTarget.Latest, true);
 * const a = parse("const x: string = 'a' ; // hi");
 * const b = parse('const x = "a"');
 * normalizedText(a, a) === normalizedText(b, b); // true
 */
export function normalizedText(node: ts.Node, sf: ts.SourceFile, prefix: readonly string[] = []): string {
  return normalizedTokens([node], sf, prefix).join("\u0000");
}

/**
 * The normalised tokens of several nodes of one file (see `normalizedText`), one `;` marker before each.
 *
 * @example
 * normalizedTokens(sf.statements.filter(ts.isExpressionStatement), sf); // [";", "setup", "(", ")"]
 */
export function normalizedTokens(nodes: readonly ts.Node[], sf: ts.SourceFile, prefix: readonly string[] = []): string[] {
  let scanner = scanners.get(sf.languageVariant);
  if (!scanner) {
    scanner = ts.createScanner(ts.ScriptTarget.Latest, /* skipTrivia */ true, sf.languageVariant);
    scanners.set(sf.languageVariant, scanner);
  }
  const text = sf.text;
  const out: string[] = [...prefix];
  const s = scanner;
  /** A token to drop if it is the next one scanned: the `>` closing a removed type-argument list. */
  let dropNext: string | undefined;
  const gap = (start: number, end: number) => {
    if (end <= start) return;
    s.setText(text, start, end - start);
    for (let kind = s.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = s.scan()) {
      const token = s.getTokenText();
      if (dropNext !== undefined) {
        const drop = token === dropNext;
        dropNext = undefined;
        if (drop) continue;
      }
      if (kind !== ts.SyntaxKind.SemicolonToken) out.push(token);
    }
  };
  const popIf = (...tokens: string[]) => {
    if (tokens.includes(out[out.length - 1] ?? "")) out.pop();
  };
  const visit = (node: ts.Node): void => {
    switch (node.kind) {
      case ts.SyntaxKind.Identifier:
      case ts.SyntaxKind.PrivateIdentifier:
        out.push((node as ts.Identifier).text);
        return;
      case ts.SyntaxKind.StringLiteral:
        out.push(JSON.stringify((node as ts.StringLiteral).text));
        return;
      case ts.SyntaxKind.NumericLiteral:
      case ts.SyntaxKind.BigIntLiteral:
        out.push((node as ts.LiteralExpression).text);
        return;
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
      case ts.SyntaxKind.TemplateHead:
      case ts.SyntaxKind.TemplateMiddle:
      case ts.SyntaxKind.TemplateTail:
      case ts.SyntaxKind.RegularExpressionLiteral:
      case ts.SyntaxKind.JsxText:
        out.push(node.getText(sf));
        return;
    }
    let pos = node.pos;
    const child = (c: ts.Node, marker = false) => {
      gap(pos, c.pos);
      pos = c.end;
      if (!isTypeOnly(c)) {
        if (marker) out.push(";");
        return visit(c);
      }
      // A removed type takes its punctuation along, so that `x: T` and `x` (no annotation) agree:
      // the `as` / `satisfies` keyword, the `:` of an annotation, the `<…>` of an old-style assertion.
      if (ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) out.pop();
      else if (ts.isTypeAssertionExpression(node)) {
        popIf("<");
        dropNext = ">";
      } else if ((node as { type?: ts.Node }).type === c) popIf(":");
    };
    ts.forEachChild(node, child, (list) => {
      if (list.length > 0 && list.every(isTypeOnly) && list !== (node as { statements?: unknown }).statements && list !== (node as { members?: unknown }).members) {
        // type parameters or type arguments: drop the list with its `<` and `>`
        gap(pos, list.pos);
        popIf("<");
        pos = list.end;
        dropNext = ">";
        return;
      }
      const n = node as { statements?: unknown; members?: unknown; clauses?: unknown };
      const isList = list === n.statements || list === n.members || list === n.clauses;
      for (const c of list) child(c, isList);
      // the gap after the last element (a trailing comma) belongs to the list
      gap(pos, list.end);
      pos = Math.max(pos, list.end);
    });
    gap(pos, node.end);
  };
  for (const node of nodes) {
    if (nodes.length > 1) out.push(";");
    visit(node);
  }
  // a trailing comma (`f(a,)`, `[1, 2,]`) is formatting: drop one comma right before a closer
  return out.filter((t, i) => !(t === "," && CLOSERS.has(out[i + 1] ?? "")));
}
