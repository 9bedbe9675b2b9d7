/**
 * Stage factories: a `stage()` call inside a function (`function build(k) { return stage("s", …) }`)
 * makes a stage whose behaviour depends on what each caller passes (`const s = build(2)`). The
 * stage's fingerprint must cover the arguments at every call of that function — and, when the
 * call is itself inside a function, at every call of that one, and so on outwards.
 */
import { ts } from "ts-morph";

/** A call (or `new`) of a function that makes a stage. */
export type FactoryCall = ts.CallExpression | ts.NewExpression;

/**
 * What a stage's factories are called with.
 *
 * @example
 * // function build(k) { return stage("s", …) }  const s = build(2);
 * // { calls: [<build(2)>], lost: [] }
 */
export interface FactoryCalls {
  /** Every call found, outwards from the stage call (a factory's calls, then its own factory's…). */
  readonly calls: readonly FactoryCall[];
  /** Functions around a stage call whose calls could not all be found (used as a value, or called outside the project). */
  readonly lost: readonly { readonly node: ts.Node; readonly name: string }[];
}

/**
 * Finds the calls of the functions around stage calls, over the project's files. The index of
 * calls by callee name is built once (one walk of every file), then each candidate is resolved
 * with the type checker (aliases followed), so an import under another name is found and another
 * function of the same name is not.
 *
 * @example
 * const factories = new Factories(checker, projectFiles);
 * factories.callsAround(stageCall).calls.map((c) => c.getText()); // ["build(2)", "build(3)"]
 */
export class Factories {
  private index: Map<string, FactoryCall[]> | undefined;
  /** `import { a as b }` / `export { a as b }`: "a" → ["b"]; a default import: "default" → [its name]. */
  private renames: Map<string, string[]> | undefined;
  /** Names used other than as a callee (`[1, 2].map(build)`, `const b = build`), by name. */
  private valueUses: Map<string, ts.Identifier[]> | undefined;

  constructor(
    private readonly checker: ts.TypeChecker,
    private readonly files: readonly ts.SourceFile[],
  ) {}

  /** The calls of every function around `node` (nearest first, outwards), as `FactoryCalls`. */
  callsAround(node: ts.Node): FactoryCalls {
    const calls: FactoryCall[] = [];
    const lost: { node: ts.Node; name: string }[] = [];
    const seen = new Set<ts.Node>();
    const queue: ts.Node[] = [node];
    while (queue.length > 0) {
      const at = queue.shift()!;
      const fn = enclosingFunction(at);
      if (!fn || seen.has(fn)) continue;
      seen.add(fn);
      const target = callTarget(fn);
      if (target && "iife" in target) {
        const call = target.iife;
        calls.push(call);
        queue.push(call);
        continue;
      }
      if (!target || !("decl" in target)) {
        // a callback (`xs.map((k) => stage(…))`): it is called by the code around it, which is
        // the enclosing function's (or the module's) own code: go on outwards
        queue.push(fn);
        continue;
      }
      const found = this.callsOf(target.decl, target.name);
      if (found.length === 0 || this.usedAsValue(target.decl, target.name)) lost.push({ node: target.decl, name: target.name });
      for (const call of found) {
        calls.push(call);
        queue.push(call);
      }
    }
    return { calls, lost };
  }

  /** The calls (and `new`s) whose callee resolves to `decl`. */
  private callsOf(decl: ts.Node, name: string): FactoryCall[] {
    this.index ??= this.build();
    const index = this.index;
    const names = isDefaultExport(decl) ? [...this.namesOf(name), ...this.namesOf("default")] : this.namesOf(name);
    return [...new Set(names.flatMap((n) => index.get(n) ?? []))].filter((call) => {
      const callee = ts.isPropertyAccessExpression(call.expression) ? call.expression.name : call.expression;
      return this.declarationsOf(callee).includes(decl);
    });
  }

  private usedAsValue(decl: ts.Node, name: string): boolean {
    this.index ??= this.build();
    return this.namesOf(name).some((n) => (this.valueUses!.get(n) ?? []).some((id) => this.declarationsOf(id).includes(decl)));
  }

  /** A name and the names it is imported or re-exported as (`import { build as make }`, `export { build as b }`), transitively. */
  private namesOf(name: string): string[] {
    const names = [name];
    for (let i = 0; i < names.length; i++) for (const n of this.renames!.get(names[i]!) ?? []) if (!names.includes(n)) names.push(n);
    return names;
  }

  private declarationsOf(node: ts.Node): readonly ts.Node[] {
    let symbol = this.checker.getSymbolAtLocation(node);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) {
      try {
        symbol = this.checker.getAliasedSymbol(symbol);
      } catch {
        // unresolvable alias: its own declarations
      }
    }
    return symbol?.declarations ?? [];
  }

  private build(): Map<string, FactoryCall[]> {
    const index = new Map<string, FactoryCall[]>();
    const values = new Map<string, ts.Identifier[]>();
    const renames = new Map<string, string[]>();
    const add = <T>(map: Map<string, T[]>, key: string, value: T) => {
      const list = map.get(key);
      if (list) list.push(value);
      else map.set(key, [value]);
    };
    for (const sf of this.files) {
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
          const callee = node.expression;
          if (ts.isIdentifier(callee)) add(index, callee.text, node);
          else if (ts.isPropertyAccessExpression(callee)) add(index, callee.name.text, node);
        } else if ((ts.isImportSpecifier(node) || ts.isExportSpecifier(node)) && node.propertyName) add(renames, node.propertyName.text, node.name.text);
        else if (ts.isImportClause(node) && node.name) add(renames, "default", node.name.text);
        else if (ts.isIdentifier(node) && isValueUse(node)) add(values, node.text, node);
        ts.forEachChild(node, visit);
      };
      visit(sf);
    }
    this.valueUses = values;
    this.renames = renames;
    return index;
  }
}

/** The nearest function-like node around `node` (not `node` itself), below the source file. */
function enclosingFunction(node: ts.Node): ts.SignatureDeclaration | undefined {
  for (let n = node.parent; n && !ts.isSourceFile(n); n = n.parent) {
    if (ts.isFunctionLike(n) && !ts.isTypeNode(n)) return n;
  }
  return undefined;
}

/**
 * How a function is called: by a name (its declaration, and the name its calls use), or right
 * where it is written (an IIFE), or neither (a callback: `undefined`).
 */
function callTarget(fn: ts.SignatureDeclaration): { decl: ts.Node; name: string } | { iife: ts.CallExpression } | undefined {
  if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)) && fn.name && ts.isIdentifier(fn.name)) return { decl: fn, name: fn.name.text };
  if (ts.isConstructorDeclaration(fn) && ts.isClassDeclaration(fn.parent) && fn.parent.name) return { decl: fn.parent, name: fn.parent.name.text };
  if (ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) {
    let outer: ts.Node = fn;
    while (ts.isParenthesizedExpression(outer.parent) || ts.isAsExpression(outer.parent) || ts.isSatisfiesExpression(outer.parent)) outer = outer.parent;
    const p = outer.parent;
    if (ts.isCallExpression(p) && p.expression === outer) return { iife: p };
    if ((ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.initializer === outer && ts.isIdentifier(p.name)) {
      return { decl: p, name: p.name.text };
    }
  }
  return undefined;
}

function isDefaultExport(decl: ts.Node): boolean {
  return ts.canHaveModifiers(decl) && (ts.getModifiers(decl) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
}

/** An identifier that names a value without calling it or declaring it (`map(build)`, `const b = build`, `{ build }`). */
function isValueUse(id: ts.Identifier): boolean {
  const p = id.parent;
  if ((ts.isCallExpression(p) || ts.isNewExpression(p)) && p.expression === id) return false;
  if (ts.isPropertyAccessExpression(p)) return p.name === id ? !(ts.isCallExpression(p.parent) && p.parent.expression === p) : false;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p) || ts.isImportClause(p) || ts.isNamespaceImport(p)) return false;
  if (ts.isExportAssignment(p)) return false;
  if ((ts.isFunctionDeclaration(p) || ts.isMethodDeclaration(p) || ts.isClassDeclaration(p) || ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.name === id) return false;
  if (ts.isTypeReferenceNode(p) || ts.isTypeQueryNode(p) || ts.isQualifiedName(p) || ts.isExpressionWithTypeArguments(p)) return false;
  if (ts.isBindingElement(p) || ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return false;
  return ts.isShorthandPropertyAssignment(p) || ts.isExpression(id);
}
