/**
 * The dependency graph behind code fingerprints: from each `stage("name", fn)` call, everything in
 * the project that `fn` transitively reads or calls, as *units* (one hashable declaration each),
 * plus the installed packages it uses.
 */
import path from "node:path";
import { ts } from "ts-morph";
import { sha256 } from "./generated.js";
import { isTypeOnly, normalizedTokens } from "./normalize.js";
import { Packages, type Dependency } from "./packages.js";

export type { Dependency } from "./packages.js";

/**
 * One hashable piece of project code: a top-level function, a variable (one declarator), a class,
 * an enum, a namespace, the `export default` expression, another top-level statement, a stage's
 * function argument, or a module's non-declaration statements (its side effects).
 *
 * @example
 * // function normalize(x: number) { … } in src/prep.ts:
 * // { kind: "helper", name: "normalize", line: 12, roots: [<FunctionDeclaration>], prefix: [] }
 * graph.label(unit); // "helper `normalize` (src/prep.ts)"
 */
export interface Unit {
  /** "helper", "constant", "variable", "class", "enum", "namespace", "default export", "statement", "module statements", "stage function". */
  readonly kind: string;
  readonly name: string | undefined;
  readonly sf: ts.SourceFile;
  /** 1-based line of the unit's start (labels use it to tell two same-named units apart). */
  readonly line: number;
  /** The nodes whose code the unit is: the walk follows references out of them, the digest hashes them. */
  readonly roots: readonly ts.Node[];
  /** Tokens hashed before the roots' own (`const` / `let` / `var` for a variable declarator). */
  readonly prefix: readonly string[];
  /** Filled by `ProjectGraph.edges`. */
  edges?: readonly Edge[];
  findings?: readonly Finding[];
  digest?: string;
}

/**
 * Where a unit leads: another unit, or an installed package.
 *
 * @example
 * for (const e of graph.edges(unit)) console.log("roots" in e ? graph.label(e) : e.label);
 */
export type Edge = Unit | Dependency;

/**
 * Code the walk cannot follow, at a place in a file.
 *
 * @example
 * // { sf: <src/risky.ts>, line: 6, message: "eval(...) runs code the fingerprint cannot see" }
 */
export interface Finding {
  readonly sf: ts.SourceFile;
  readonly line: number;
  readonly message: string;
}

/**
 * A `stage(...)` call with a literal name.
 *
 * @example
 * // stage("clean", ({ xs }) => ({ ys: prepare(xs) })) → { name: "clean", call: <CallExpression>, fn: <ArrowFunction> }
 */
export interface StageCall {
  readonly name: string;
  readonly call: ts.CallExpression;
  readonly fn: ts.Expression;
}

const isUnit = (e: Edge): e is Unit => "roots" in e;
const isDependency = (t: ts.Node | Dependency): t is Dependency => "packageJson" in t;
const lineOf = (sf: ts.SourceFile, node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;

/**
 * The graph of one TypeScript program. Units and their outgoing edges are computed once and shared
 * by every stage that reaches them (500 stages calling the same helpers walk each helper once).
 *
 * @example
 * const graph = new ProjectGraph(program, "/repo");
 * const calls = graph.stageCalls();
 * const { units, dependencies } = graph.reach(calls.map((c) => graph.stageUnit(c)));
 */
export class ProjectGraph {
  readonly checker: ts.TypeChecker;
  /** Non-fatal problems not tied to a stage: stage calls that cannot be read, unresolved imports. */
  readonly problems: Finding[] = [];
  /** Installed packages, by the package.json files they resolve to. */
  readonly packages = new Packages();
  private readonly units = new Map<ts.Node, Unit>();
  private readonly moduleUnits = new Map<ts.SourceFile, Unit | null>();
  private readonly stageCallsByFile = new Map<ts.SourceFile, ts.CallExpression[]>();
  private readonly symbolTargets = new Map<ts.Symbol, readonly (ts.Node | Dependency)[]>();
  private readonly reportedUnresolved = new Set<string>();

  constructor(
    readonly program: ts.Program,
    /** The project root (the tsconfig's directory): labels are relative to it. */
    readonly root: string,
  ) {
    this.checker = program.getTypeChecker();
  }

  /** Project code: not a declaration file, not installed under node_modules. */
  isProjectFile(sf: ts.SourceFile): boolean {
    return !sf.isDeclarationFile && !/[\\/]node_modules[\\/]/.test(sf.fileName);
  }

  /** The path of a file relative to the project root, with `/`. */
  rel(file: string): string {
    return path.relative(this.root, file).split(path.sep).join("/");
  }

  /**
   * Every `stage(name, fn, ...)` call in the project's files whose `stage` is memopipe's. A call
   * whose name is not a string literal is reported (its cache entries then use the run-time
   * fallback fingerprint).
   */
  stageCalls(): StageCall[] {
    const found: StageCall[] = [];
    for (const sf of this.program.getSourceFiles()) {
      if (!this.isProjectFile(sf) || !sf.text.includes("stage")) continue;
      const calls: ts.CallExpression[] = [];
      const visit = (node: ts.Node): void => {
        if (ts.isCallExpression(node) && this.isStageCallee(node.expression)) {
          calls.push(node);
          const [name, fn] = node.arguments;
          if (name && fn && ts.isStringLiteralLike(name)) found.push({ name: name.text, call: node, fn });
          else if (fn) {
            this.problems.push({ sf, line: lineOf(sf, node), message: "stage(...) whose name is not a string literal: not fingerprinted (the run-time fallback applies)" });
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
      if (calls.length > 0) this.stageCallsByFile.set(sf, calls);
    }
    return found;
  }

  /**
   * Whether a callee is memopipe's `stage`: imported as `stage` from a module specifier ending in
   * `memopipe` (whether or not it resolves: a copied project may not have it installed), or
   * resolving to a function `stage` declared in the package named `memopipe` (the package's own
   * sources, or its built declarations through the package self-reference).
   */
  private isStageCallee(callee: ts.Expression): boolean {
    let id: ts.Identifier;
    if (ts.isIdentifier(callee)) id = callee;
    else if (ts.isPropertyAccessExpression(callee) && callee.name.text === "stage" && ts.isIdentifier(callee.name)) {
      const ns = this.checker.getSymbolAtLocation(callee.expression);
      const decl = ns?.declarations?.[0];
      if (decl && ts.isNamespaceImport(decl) && /(^|\/)memopipe$/.test(moduleSpecifierOf(decl) ?? "")) return true;
      id = callee.name;
    } else return false;
    const symbol = this.checker.getSymbolAtLocation(id);
    if (!symbol) return false;
    let target = symbol;
    if (symbol.flags & ts.SymbolFlags.Alias) {
      const decl = symbol.declarations?.[0];
      if (decl && ts.isImportSpecifier(decl) && (decl.propertyName ?? decl.name).text === "stage" && /(^|\/)memopipe$/.test(moduleSpecifierOf(decl) ?? "")) {
        return true;
      }
      target = this.checker.getAliasedSymbol(symbol);
    } else if (ts.isIdentifier(callee)) return false; // a local function, not an import
    return target.name === "stage" && (target.declarations ?? []).some((d) => ts.isFunctionDeclaration(d) && this.isMemopipeStage(d.getSourceFile()));
  }

  /**
   * memopipe's own `stage`: declared in the package named `memopipe`, in its built declarations
   * or in its source `src/dsl/stage.ts` (inside this repository, where a fixture's own `stage`
   * function would otherwise also belong to the package "memopipe").
   */
  private isMemopipeStage(sf: ts.SourceFile): boolean {
    const pkg = this.packages.ofFile(sf.fileName);
    if (pkg?.name !== "memopipe") return false;
    return sf.isDeclarationFile || path.relative(path.dirname(pkg.file), sf.fileName).split(path.sep).join("/") === "src/dsl/stage.ts";
  }

  /** The unit of a stage's function argument (an arrow, a function expression, an identifier, any expression). */
  stageUnit(call: StageCall): Unit {
    const sf = call.call.getSourceFile();
    return { kind: "stage function", name: undefined, sf, line: lineOf(sf, call.fn), roots: [call.fn], prefix: [] };
  }

  /** The label a part gets in the generated file: "helper `normalize` (src/prep.ts)"; `withLine` adds `:line` to the file. */
  label(unit: Unit, withLine = false): string {
    const where = `${this.rel(unit.sf.fileName)}${withLine ? `:${unit.line}` : ""}`;
    return unit.name === undefined ? `${unit.kind} (${where})` : `${unit.kind} \`${unit.name}\` (${where})`;
  }

  /** SHA-256 of the unit's normalised code (see normalize.ts). */
  digest(unit: Unit): string {
    unit.digest ??= sha256(normalizedTokens(unit.roots, unit.sf, unit.prefix).join("\u0000"));
    return unit.digest;
  }

  /**
   * Everything reachable from some start units: the units (each with its findings) and the
   * installed packages. Breadth-first over `edges`, each unit once.
   */
  reach(start: readonly Unit[]): { units: Set<Unit>; dependencies: Set<Dependency>; findings: Finding[] } {
    const units = new Set<Unit>(start);
    const dependencies = new Set<Dependency>();
    const findings: Finding[] = [];
    const queue = [...start];
    for (let i = 0; i < queue.length; i++) {
      const unit = queue[i]!;
      for (const edge of this.edges(unit)) {
        if (!isUnit(edge)) dependencies.add(edge);
        else if (!units.has(edge)) {
          units.add(edge);
          queue.push(edge);
        }
      }
      findings.push(...unit.findings!);
    }
    return { units, dependencies, findings };
  }

  /**
   * The outgoing edges of a unit, computed once: every identifier in its run-time code (type-only
   * code is skipped) is resolved through the type checker to its declarations; aliases (imports,
   * re-exports) are followed to the final declaration with `getAliasedSymbol`. A declaration
   * inside the unit itself (a parameter, a local) is not an edge. A declaration in project code
   * becomes the unit that contains it (see `unitOf`: a method is its class, a local of another
   * function is that function); one in an installed package becomes a `Dependency`; the default
   * library (`Math`, `Array#map`…) is not followed. Every unit also reaches the module statements
   * of its own file (side effects run when the module is loaded).
   *
   * The same walk records what it cannot follow: `eval`, `new Function`, dynamic `import()`,
   * `require` of a computed name, `process.env` reads.
   */
  edges(unit: Unit): readonly Edge[] {
    if (unit.edges) return unit.edges;
    const edges = new Set<Edge>();
    const findings: Finding[] = [];
    const sf = unit.sf;
    const inside = (decl: ts.Node) => decl.getSourceFile() === sf && unit.roots.some((r) => decl.pos >= r.pos && decl.end <= r.end);
    const addSymbol = (symbol: ts.Symbol | undefined) => {
      if (!symbol) return;
      for (const target of this.targetsOf(symbol)) {
        if (isDependency(target)) {
          edges.add(target);
          continue;
        }
        const decl = target;
        if (inside(decl)) continue;
        // A declaration that makes a stage (`const b = stage("b", …)`) is that stage's own entry:
        // code that only *wires* stages (`dag().start(a).edge(a, b).run(…)`, often a module
        // statement beside them) must not make every stage depend on every other one.
        if (this.makesStage(decl)) continue;
        const u = this.unitOf(decl);
        if (u && u !== unit) edges.add(u);
      }
    };
    const finding = (node: ts.Node, message: string) => findings.push({ sf, line: lineOf(sf, node), message });
    const visit = (node: ts.Node): void => {
      if (isTypeOnly(node)) return;
      if (ts.isIdentifier(node)) {
        if (ts.isShorthandPropertyAssignment(node.parent) && node.parent.name === node) {
          addSymbol(this.checker.getShorthandAssignmentValueSymbol(node.parent));
        } else addSymbol(this.checker.getSymbolAtLocation(node));
        return;
      }
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
        const callee = node.expression;
        if (callee.kind === ts.SyntaxKind.ImportKeyword) finding(node, "dynamic import(...): the module it loads is not fingerprinted");
        else if (ts.isIdentifier(callee) && callee.text === "eval" && ts.isCallExpression(node)) finding(node, "eval(...) runs code the fingerprint cannot see");
        else if (ts.isIdentifier(callee) && callee.text === "Function") finding(node, "new Function(...) builds code the fingerprint cannot see");
        else if (ts.isIdentifier(callee) && callee.text === "require" && !(node.arguments?.[0] && ts.isStringLiteralLike(node.arguments[0]))) {
          finding(node, "require(...) of a computed name: the module it loads is not fingerprinted");
        }
      } else if (
        (ts.isPropertyAccessExpression(node) && node.name.text === "env") ||
        (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && node.argumentExpression.text === "env")
      ) {
        if (ts.isIdentifier(node.expression) && node.expression.text === "process") {
          finding(node, "reads process.env: environment variables are not part of the fingerprint");
        }
      } else if (ts.isImportDeclaration(node) && !node.importClause) {
        // a side-effect import (`import "./setup.js"`, only in module statements): its module runs
        const specifier = ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier.text : "";
        if (isRelative(specifier)) {
          // resolved through the program, not a symbol: a script (no import/export) has no module symbol
          const options = this.program.getCompilerOptions();
          const mode = ts.getModeForUsageLocation(sf, node.moduleSpecifier as ts.StringLiteral, options);
          const file = ts.resolveModuleName(specifier, sf.fileName, options, ts.sys, undefined, undefined, mode).resolvedModule?.resolvedFileName;
          const target = file === undefined ? undefined : this.program.getSourceFile(file);
          const mod = target && this.moduleUnit(target);
          if (mod && mod !== unit) edges.add(mod);
        } else {
          const dep = this.bareDependency(specifier, sf, node);
          if (dep) edges.add(dep);
        }
        return;
      }
      ts.forEachChild(node, visit);
    };
    for (const root of unit.roots) visit(root);
    if (unit.kind !== "module statements") {
      const mod = this.moduleUnit(sf);
      if (mod) edges.add(mod);
    }
    unit.edges = [...edges];
    unit.findings = findings;
    return unit.edges;
  }

  /**
   * What a symbol stands for: project declarations (turned into units by the caller) and
   * installed packages. Memoised per symbol.
   */
  private targetsOf(symbol: ts.Symbol): readonly (ts.Node | Dependency)[] {
    const known = this.symbolTargets.get(symbol);
    if (known) return known;
    const targets: (ts.Node | Dependency)[] = [];
    let resolved = symbol;
    let specifier: string | undefined;
    let from: ts.SourceFile | undefined;
    if (symbol.flags & ts.SymbolFlags.Alias) {
      const aliasDecl = symbol.declarations?.[0];
      specifier = aliasDecl && moduleSpecifierOf(aliasDecl);
      from = aliasDecl?.getSourceFile();
      try {
        resolved = this.checker.getAliasedSymbol(symbol);
      } catch {
        resolved = symbol;
      }
    }
    const decls = resolved.declarations ?? [];
    const projectDecls = decls.filter((d) => this.isProjectFile(d.getSourceFile()));
    if (projectDecls.length > 0) targets.push(...projectDecls);
    else if (specifier !== undefined && from && !isRelative(specifier)) {
      const dep = this.bareDependency(specifier, from, symbol.declarations![0]!);
      if (dep) targets.push(dep);
    } else if (decls.length > 0) {
      for (const d of decls) {
        const sf = d.getSourceFile();
        if (this.program.isSourceFileDefaultLibrary(sf)) continue;
        const outside = /[\\/]node_modules[\\/]/.test(sf.fileName) || path.relative(this.root, sf.fileName).startsWith("..");
        const pkg = outside ? this.packages.ofFile(sf.fileName) : undefined; // else: an ambient .d.ts of the project (no code)
        const dep = pkg && this.packages.dependency(pkg.name, path.dirname(sf.fileName));
        if (dep) targets.push(dep);
      }
    } else if (specifier !== undefined && from) {
      const aliasDecl = symbol.declarations![0]!;
      this.problems.push({ sf: from, line: lineOf(from, aliasDecl), message: `cannot resolve import "${specifier}": not fingerprinted` });
    }
    const unique = [...new Set(targets)];
    this.symbolTargets.set(symbol, unique);
    return unique;
  }

  /**
   * `lodash/fp` imported from a file → dependency `lodash`@version (node built-ins: none). A
   * package that is not installed is reported at the import (`at`) and counted as `@unresolved`.
   */
  private bareDependency(specifier: string, from: ts.SourceFile, at: ts.Node): Dependency | undefined {
    const dep = this.packages.ofSpecifier(specifier, path.dirname(from.fileName));
    if (dep && !dep.packageJson && !this.reportedUnresolved.has(dep.label)) {
      this.reportedUnresolved.add(dep.label);
      this.problems.push({ sf: from, line: lineOf(from, at), message: `package "${dep.name}" is not installed: counted as ${dep.name}@unresolved` });
    }
    return dep;
  }

  /**
   * The unit a project declaration belongs to. Units are top-level: a declaration nested in a
   * top-level statement belongs to that statement's unit (a method to its class, a local of a
   * function to the function: reading a closure variable depends on the whole function that
   * creates it), except that a `const a = …, b = …` statement is one unit per declarator. A
   * module (a namespace import's target) is its module statements. Type-only and ambient
   * declarations have no unit.
   */
  private unitOf(decl: ts.Node): Unit | undefined {
    if (ts.isSourceFile(decl)) return this.moduleUnit(decl) ?? undefined;
    let top = decl;
    while (top.parent && !ts.isSourceFile(top.parent)) top = top.parent;
    if (!top.parent) return undefined;
    let node: ts.Node = top;
    if (ts.isVariableStatement(top)) {
      node = top.declarationList.declarations.find((d) => decl.pos >= d.pos && decl.end <= d.end) ?? top;
    }
    const known = this.units.get(node);
    if (known) return known;
    if (isTypeOnly(top) || ts.isImportDeclaration(top) || ts.isImportEqualsDeclaration(top) || ts.isExportDeclaration(top)) return undefined;
    const sf = top.getSourceFile();
    let kind = "statement";
    let name: string | undefined;
    let prefix: string[] = [];
    if (ts.isFunctionDeclaration(node)) [kind, name] = ["helper", node.name?.text ?? "default"];
    else if (ts.isClassDeclaration(node)) [kind, name] = ["class", node.name?.text ?? "default"];
    else if (ts.isEnumDeclaration(node)) [kind, name] = ["enum", node.name.text];
    else if (ts.isModuleDeclaration(node)) [kind, name] = ["namespace", node.name.text];
    else if (ts.isExportAssignment(node)) kind = "default export";
    else if (ts.isVariableDeclaration(node)) {
      const flags = ts.getCombinedNodeFlags(node);
      const keyword = flags & ts.NodeFlags.Const ? "const" : flags & ts.NodeFlags.Let ? "let" : "var";
      let init = node.initializer;
      while (init && (ts.isParenthesizedExpression(init) || ts.isAsExpression(init) || ts.isSatisfiesExpression(init))) init = init.expression;
      kind = init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) ? "helper" : keyword === "const" ? "constant" : "variable";
      name = ts.isIdentifier(node.name) ? node.name.text : node.name.getText(sf).replace(/\s+/g, " ");
      prefix = [keyword];
    } else name = undefined;
    const unit: Unit = { kind, name, sf, line: lineOf(sf, node), roots: [node], prefix };
    this.units.set(node, unit);
    return unit;
  }

  /** Whether `decl` is (or contains) a `stage()` call of the project, i.e. defines a stage. */
  private makesStage(decl: ts.Node): boolean {
    const calls = this.stageCallsByFile.get(decl.getSourceFile()) ?? [];
    return calls.some((c) => c.pos >= decl.pos && c.end <= decl.end);
  }

  /**
   * A module's side effects: its top-level statements that are not declarations (calls,
   * assignments, `if`, loops…) and its side-effect imports. Statements that contain a `stage()`
   * call are left out: they wire the pipeline (each stage has its own entry) rather than prepare
   * state the stage reads. `null` when there are none.
   */
  private moduleUnit(sf: ts.SourceFile): Unit | null {
    if (this.moduleUnits.has(sf)) return this.moduleUnits.get(sf)!;
    let unit: Unit | null = null;
    if (this.isProjectFile(sf)) {
      const calls = this.stageCallsByFile.get(sf) ?? [];
      const statements = sf.statements.filter((s) => {
        if (ts.isImportDeclaration(s)) return !s.importClause;
        if (isDeclarationStatement(s) || isTypeOnly(s)) return false;
        return !calls.some((c) => c.pos >= s.pos && c.end <= s.end);
      });
      if (statements.length > 0) unit = { kind: "module statements", name: undefined, sf, line: lineOf(sf, statements[0]!), roots: statements, prefix: [] };
    }
    this.moduleUnits.set(sf, unit);
    return unit;
  }
}

function isDeclarationStatement(s: ts.Statement): boolean {
  return (
    ts.isFunctionDeclaration(s) ||
    ts.isClassDeclaration(s) ||
    ts.isVariableStatement(s) ||
    ts.isEnumDeclaration(s) ||
    ts.isModuleDeclaration(s) ||
    ts.isImportEqualsDeclaration(s) ||
    ts.isExportDeclaration(s) ||
    ts.isExportAssignment(s) ||
    ts.isEmptyStatement(s)
  );
}

const isRelative = (specifier: string) => specifier.startsWith(".") || path.isAbsolute(specifier);

/** The module specifier of an import/export alias declaration, when it is a string literal. */
function moduleSpecifierOf(decl: ts.Node): string | undefined {
  let spec: ts.Expression | undefined;
  if (ts.isImportSpecifier(decl)) spec = decl.parent.parent.parent.moduleSpecifier;
  else if (ts.isImportClause(decl)) spec = decl.parent.moduleSpecifier;
  else if (ts.isNamespaceImport(decl)) spec = decl.parent.parent.moduleSpecifier;
  else if (ts.isExportSpecifier(decl)) spec = decl.parent.parent.moduleSpecifier;
  else if (ts.isNamespaceExport(decl)) spec = decl.parent.moduleSpecifier;
  else if (ts.isImportEqualsDeclaration(decl) && ts.isExternalModuleReference(decl.moduleReference)) spec = decl.moduleReference.expression;
  return spec && ts.isStringLiteralLike(spec) ? spec.text : undefined;
}
