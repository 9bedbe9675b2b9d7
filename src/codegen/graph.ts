/**
 * The dependency graph behind code fingerprints: from each `stage("name", fn)` call, everything in
 * the project that `fn` transitively reads or calls, as *units* (one hashable declaration each),
 * plus the installed packages it uses.
 */
import path from "node:path";
import { ts } from "ts-morph";
import { sha256 } from "./generated.js";
import { isTypeOnly, normalizedTokens } from "./normalize.js";
import { Factories, type FactoryCall } from "./factories.js";
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
  /** The files this unit's code loads: its own, the modules it imports from (barrels included), namespace and side-effect imports. */
  loads?: ReadonlySet<ts.SourceFile>;
  /** Project units whose state this unit's code may read or change (see `ProjectGraph.edges`). */
  touches?: ReadonlySet<Unit>;
  /** Whether this unit's code writes global state (`globalThis.x = …`, `Object.defineProperty(Array.prototype, …)`). */
  writesGlobal?: boolean;
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
  /** Per file, the calls that make stages: `stage()` calls and calls of the functions around them (factories). */
  private readonly makersByFile = new Map<ts.SourceFile, ts.Node[]>();
  private readonly symbolTargets = new Map<ts.Symbol, readonly (ts.Node | Dependency)[]>();
  private readonly reportedUnresolved = new Set<string>();
  private readonly effectsOf = new Map<Unit, { touches: ReadonlySet<Unit>; writesGlobal: boolean }>();
  private readonly aliasFilesOf = new Map<ts.Symbol, readonly ts.SourceFile[]>();
  private readonly barrels = new Map<ts.SourceFile, readonly ts.SourceFile[]>();
  private readonly statementsOf = new Map<ts.SourceFile, readonly Unit[]>();
  private readonly factoryUnits = new Map<string, Unit>();
  private readonly reportedLost = new Set<string>();
  private readonly factories: Factories;

  constructor(
    readonly program: ts.Program,
    /** The project root (the tsconfig's directory): labels are relative to it. */
    readonly root: string,
  ) {
    this.checker = program.getTypeChecker();
    this.factories = new Factories(
      this.checker,
      program.getSourceFiles().filter((sf) => this.isProjectFile(sf)),
    );
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
      const calls: ts.Node[] = [];
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
      if (calls.length > 0) this.makersByFile.set(sf, calls);
    }
    // the calls of the functions that make stages (factories) make stages too
    for (const c of found) {
      for (const call of this.factories.callsAround(c.call).calls) {
        const sf = call.getSourceFile();
        const list = this.makersByFile.get(sf);
        if (!list) this.makersByFile.set(sf, [call]);
        else if (!list.includes(call)) list.push(call);
      }
    }
    return found;
  }

  /**
   * A stage's start units: its function, and the calls of the functions around its `stage()`
   * call (its factories: the arguments each caller passes), one "factory call" unit per function
   * name and file. A factory whose calls cannot all be found is reported.
   *
   * @example
   * // function build(k) { return stage("s", ({ x }) => ({ y: x * k })) }  export const s = build(2);
   * graph.stageStart(call).map((u) => graph.label(u)); // ["stage function (src/p.ts)", "factory call `build` (src/p.ts)"]
   */
  stageStart(call: StageCall): Unit[] {
    const start: Unit[] = [this.stageUnit(call)];
    const { calls, lost } = this.factories.callsAround(call.call);
    const groups = new Map<string, FactoryCall[]>();
    for (const c of calls) {
      // by the name it is called by; an IIFE (`((k) => stage(…))(2)`) has none
      const callee = ts.isPropertyAccessExpression(c.expression) ? c.expression.name.text : ts.isIdentifier(c.expression) ? c.expression.text : "";
      const id = `${callee}\u0000${c.getSourceFile().fileName}`;
      groups.set(id, [...(groups.get(id) ?? []), c]);
    }
    for (const [id, group] of groups) {
      let unit = this.factoryUnits.get(id);
      if (!unit) {
        const sorted = group.sort((a, b) => a.pos - b.pos);
        const sf = sorted[0]!.getSourceFile();
        const callee = id.split("\u0000")[0]!;
        unit = { kind: "factory call", name: callee === "" ? undefined : callee, sf, line: lineOf(sf, sorted[0]!), roots: sorted, prefix: [] };
        this.factoryUnits.set(id, unit);
      }
      start.push(unit);
    }
    for (const l of lost) {
      const sf = l.node.getSourceFile();
      const key = `${sf.fileName}:${l.node.pos}`;
      if (this.reportedLost.has(key)) continue;
      this.reportedLost.add(key);
      this.problems.push({ sf, line: lineOf(sf, l.node), message: `\`${l.name}\` makes stage "${call.name}" but is also used as a value or never called in the project: the arguments it gets there are not fingerprinted` });
    }
    return start;
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

  /** The unit's code as written (its roots, one per line), for people: the report's diff of a changed helper. */
  sourceText(unit: Unit): string {
    return [...unit.prefix, ...unit.roots.map((r) => r.getText(unit.sf))].join(unit.prefix.length > 0 ? " " : "\n");
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
   * What a stage uses: `reach` from its start units, plus the module statements that matter to
   * it, until nothing more is added. The modules its code loads (`loads`) run their top-level
   * statements, but only some of those can change what the stage computes: a statement counts
   * when it is a side-effect import, when its code (or code it calls) writes global state, or when
   * it reads or changes state the stage also uses (a `let`, an object or array constant, a
   * property assigned on a helper: `touches`). A `console.log("…")`, the code that runs a sweep or
   * wires and runs the DAG, an unrelated computation printed at the end of a script: none of them
   * does. A statement that counts is followed in turn (what it calls is the stage's code too).
   * `files` is every project file the result depends on (for the staleness check).
   *
   * @example
   * const { units, dependencies, files } = graph.closure(graph.stageStart(call));
   */
  closure(start: readonly Unit[]): { units: Set<Unit>; dependencies: Set<Dependency>; findings: Finding[]; files: Set<ts.SourceFile> } {
    const result = this.reach(start);
    const files = new Set<ts.SourceFile>();
    for (;;) {
      const added: Unit[] = [];
      for (const u of result.units) for (const f of u.loads!) files.add(f);
      for (const f of files) {
        for (const statement of this.moduleStatements(f)) {
          if (result.units.has(statement) || !this.matters(statement, result.units)) continue;
          added.push(statement);
          result.units.add(statement);
        }
      }
      if (added.length === 0) break;
      const more = this.reach(added);
      for (const u of more.units) result.units.add(u);
      for (const d of more.dependencies) result.dependencies.add(d);
      result.findings.push(...more.findings.filter((f) => !result.findings.includes(f)));
    }
    return { ...result, files };
  }

  /** Whether a module statement can change what code using `units` computes (see `closure`). */
  private matters(statement: Unit, units: ReadonlySet<Unit>): boolean {
    const node = statement.roots[0]!;
    if (ts.isImportDeclaration(node)) return true;
    const effects = this.effects(statement);
    if (effects.writesGlobal) return true;
    for (const u of effects.touches) if (units.has(u)) return true;
    return false;
  }

  /** What a unit and everything it reaches may touch, and whether any of it writes global state. Memoised. */
  private effects(unit: Unit): { touches: ReadonlySet<Unit>; writesGlobal: boolean } {
    const known = this.effectsOf.get(unit);
    if (known) return known;
    const touches = new Set<Unit>();
    let writesGlobal = false;
    for (const u of this.reach([unit]).units) {
      for (const t of u.touches!) touches.add(t);
      writesGlobal ||= u.writesGlobal!;
    }
    const effects = { touches, writesGlobal };
    this.effectsOf.set(unit, effects);
    return effects;
  }

  /**
   * The outgoing edges of a unit, computed once: every identifier in its run-time code (type-only
   * code is skipped) is resolved through the type checker to its declarations; aliases (imports,
   * re-exports) are followed to the final declaration with `getAliasedSymbol`. A declaration
   * inside the unit itself (a parameter, a local) is not an edge. A declaration in project code
   * becomes the unit that contains it (see `unitOf`: a method is its class, a local of another
   * function is that function); one in an installed package becomes a `Dependency`; the default
   * library (`Math`, `Array#map`…) is not followed.
   *
   * The same walk fills `loads` (the unit's file, the modules its imports come from, barrels on
   * the way, namespace and side-effect imports: their module statements may matter, see
   * `closure`), `touches` (units whose state it may read or change: a `let`, a non-primitive
   * constant, or any unit it assigns a property of or calls a method on) and `writesGlobal`
   * (an assignment, `delete` or `++` whose target is global, or `Object.assign` /
   * `Object.defineProperty` / `Reflect.set` … of a global), and records what it cannot follow:
   * `eval`, `new Function`, dynamic `import()`, `require` of a computed name, `process.env` reads.
   */
  edges(unit: Unit): readonly Edge[] {
    if (unit.edges) return unit.edges;
    const edges = new Set<Edge>();
    const findings: Finding[] = [];
    const loads = new Set<ts.SourceFile>([unit.sf]);
    const touches = new Set<Unit>();
    let writesGlobal = false;
    const sf = unit.sf;
    const inside = (decl: ts.Node) => decl.getSourceFile() === sf && unit.roots.some((r) => decl.pos >= r.pos && decl.end <= r.end);
    const addSymbol = (symbol: ts.Symbol | undefined, at: ts.Identifier, member = false) => {
      const mutation = member ? undefined : mutationAt(at);
      if (!symbol || this.isGlobal(symbol)) {
        // `process.exitCode = 1` at the end of a script changes no stage's result
        if (mutation === "write" && !(at.text === "process" && ts.isPropertyAccessExpression(at.parent) && at.parent.name.text === "exitCode")) writesGlobal = true;
        return;
      }
      for (const target of this.targetsOf(symbol)) {
        if (isDependency(target)) {
          edges.add(target);
          continue;
        }
        const decl = target;
        if (ts.isSourceFile(decl)) {
          loads.add(decl); // a namespace import: the module is loaded, its members resolve one by one
          continue;
        }
        if (inside(decl)) continue;
        // A declaration that makes a stage (`const b = stage("b", …)`, `const s = build(2)`) is that
        // stage's own entry: code that only *wires* stages (`dag().start(a).edge(a, b).run(…)`, often
        // a module statement beside them) must not make every stage depend on every other one.
        if (this.makesStage(decl)) continue;
        const u = this.unitOf(decl);
        if (u && u !== unit) {
          edges.add(u);
          if (mutation !== undefined || this.isState(u)) touches.add(u);
        }
      }
      for (const f of this.aliasFiles(symbol)) loads.add(f);
    };
    const finding = (node: ts.Node, message: string) => findings.push({ sf, line: lineOf(sf, node), message });
    const visit = (node: ts.Node): void => {
      if (isTypeOnly(node)) return;
      if (ts.isIdentifier(node)) {
        if (ts.isShorthandPropertyAssignment(node.parent) && node.parent.name === node) {
          addSymbol(this.checker.getShorthandAssignmentValueSymbol(node.parent), node);
        } else {
          // a member name (`obj.method`, `this.k`) resolves to its class or object; it is never the
          // target of a global write itself (its base is: `globalThis.x = 1`)
          const member = ts.isPropertyAccessExpression(node.parent) && node.parent.name === node;
          const symbol = this.checker.getSymbolAtLocation(node);
          if (!member || (symbol && !this.isGlobal(symbol))) addSymbol(symbol, node, member);
        }
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
          const target = this.resolveImport(sf, node.moduleSpecifier as ts.StringLiteral);
          if (target) for (const f of this.barrelFiles(target)) loads.add(f);
        } else {
          const dep = this.bareDependency(specifier, sf, node);
          if (dep) edges.add(dep);
        }
        return;
      }
      ts.forEachChild(node, visit);
    };
    for (const root of unit.roots) visit(root);
    unit.edges = [...edges];
    unit.findings = findings;
    unit.loads = loads;
    unit.touches = touches;
    unit.writesGlobal = writesGlobal;
    return unit.edges;
  }

  /** A file a relative module specifier resolves to (through the program, not a symbol: a script has no module symbol). */
  private resolveImport(sf: ts.SourceFile, specifier: ts.StringLiteral): ts.SourceFile | undefined {
    const options = this.program.getCompilerOptions();
    const mode = ts.getModeForUsageLocation(sf, specifier, options);
    const file = ts.resolveModuleName(specifier.text, sf.fileName, options, ts.sys, undefined, undefined, mode).resolvedModule?.resolvedFileName;
    const target = file === undefined ? undefined : this.program.getSourceFile(file);
    return target && this.isProjectFile(target) ? target : undefined;
  }

  /** A global (or undeclared) name: declared nowhere in the project nor in an installed package (`globalThis`, `Array`, `window`). */
  private isGlobal(symbol: ts.Symbol): boolean {
    if (symbol.flags & ts.SymbolFlags.Alias) return false;
    const decls = symbol.declarations ?? [];
    return decls.every((d) => d.getSourceFile().isDeclarationFile);
  }

  /**
   * The files an alias (an import, a re-export) goes through to its declaration: the module each
   * import names and, for barrels (`export * from`, `export { a } from`), every module they
   * re-export from. A barrel edit can change what a name resolves to, so these files are in the
   * stage's `files`, and their module statements may matter.
   */
  private aliasFiles(symbol: ts.Symbol): readonly ts.SourceFile[] {
    if (!(symbol.flags & ts.SymbolFlags.Alias)) return [];
    const known = this.aliasFilesOf.get(symbol);
    if (known) return known;
    const files = new Set<ts.SourceFile>();
    let s: ts.Symbol | undefined = symbol;
    for (let depth = 0; s && s.flags & ts.SymbolFlags.Alias && depth < 64; depth++) {
      const decl = s.declarations?.[0];
      const spec = decl && moduleSpecifierNode(decl);
      const target = spec && isRelative(spec.text) ? this.resolveImport(decl.getSourceFile(), spec) : undefined;
      if (target) for (const f of this.barrelFiles(target)) files.add(f);
      if (decl && this.isProjectFile(decl.getSourceFile())) files.add(decl.getSourceFile());
      try {
        s = this.checker.getImmediateAliasedSymbol(s);
      } catch {
        s = undefined;
      }
    }
    const list = [...files];
    this.aliasFilesOf.set(symbol, list);
    return list;
  }

  /** A module and, transitively, the project modules it re-exports from (`export … from`). */
  private barrelFiles(sf: ts.SourceFile): readonly ts.SourceFile[] {
    const known = this.barrels.get(sf);
    if (known) return known;
    const files: ts.SourceFile[] = [sf];
    this.barrels.set(sf, files); // before recursing: export cycles end here
    for (const s of sf.statements) {
      if (!ts.isExportDeclaration(s) || s.isTypeOnly || !s.moduleSpecifier || !ts.isStringLiteral(s.moduleSpecifier) || !isRelative(s.moduleSpecifier.text)) continue;
      const target = this.resolveImport(sf, s.moduleSpecifier);
      if (target) for (const f of this.barrelFiles(target)) if (!files.includes(f)) files.push(f);
    }
    return files;
  }

  /**
   * Whether reading or calling into a unit may see state that module statements change: a `let`
   * or `var`, a namespace, a top-level statement, or a `const` whose value is not a primitive
   * (an object, an array, a `Map`… can be filled by a statement elsewhere). Functions, classes and
   * enums are not (a statement that assigns to one of their properties `touches` it anyway).
   */
  private isState(u: Unit): boolean {
    if (u.kind === "variable" || u.kind === "namespace" || u.kind === "module statement" || u.kind === "default export") return true;
    if (u.kind !== "constant") return false;
    const decl = u.roots[0]!;
    if (!ts.isVariableDeclaration(decl)) return true;
    const type = this.checker.getTypeAtLocation(decl.name);
    const primitive = ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BigIntLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.EnumLike | ts.TypeFlags.Null | ts.TypeFlags.Undefined | ts.TypeFlags.ESSymbolLike;
    const isPrimitive = (t: ts.Type): boolean => (t.isUnion() ? t.types.every(isPrimitive) : (t.flags & primitive) !== 0);
    return !isPrimitive(type);
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
   * top-level statement that declares nothing (a call, an `if`, a loop: its locals) is a "module
   * statement". Modules, type-only and ambient declarations have no unit.
   */
  private unitOf(decl: ts.Node): Unit | undefined {
    if (ts.isSourceFile(decl)) return undefined;
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
    let kind = "module statement";
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

  /** Whether `decl` is (or contains) a `stage()` call of the project or a call of a function that makes one, i.e. defines a stage. */
  private makesStage(decl: ts.Node): boolean {
    const calls = this.makersByFile.get(decl.getSourceFile()) ?? [];
    return calls.some((c) => c.pos >= decl.pos && c.end <= decl.end);
  }

  /**
   * A module's top-level statements that run code: not declarations (calls, assignments, `if`,
   * loops…) and side-effect imports, one unit each (`closure` decides which matter to a stage).
   * Statements that make stages (a `stage()` call, a factory's call) are left out: they wire the
   * pipeline (each stage has its own entry, and a factory's arguments are its "factory call" part).
   */
  moduleStatements(sf: ts.SourceFile): readonly Unit[] {
    const known = this.statementsOf.get(sf);
    if (known) return known;
    const units: Unit[] = [];
    if (this.isProjectFile(sf)) {
      const makers = this.makersByFile.get(sf) ?? [];
      for (const s of sf.statements) {
        if (ts.isImportDeclaration(s) ? s.importClause !== undefined : isDeclarationStatement(s) || isTypeOnly(s)) continue;
        if (makers.some((c) => c.pos >= s.pos && c.end <= s.end)) continue;
        let unit = this.units.get(s);
        if (!unit) {
          unit = { kind: "module statement", name: undefined, sf, line: lineOf(sf, s), roots: [s], prefix: [] };
          this.units.set(s, unit);
        }
        units.push(unit);
      }
    }
    this.statementsOf.set(sf, units);
    return units;
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

/**
 * How code at an identifier may change what it names: `write` (the base of an assignment,
 * `++`/`--`, `delete`, the first argument of `Object.assign` / `Object.defineProperty` /
 * `Reflect.set` …: `config.x = 1`, `delete cache[k]`), `call` (a method called on it or on one of
 * its members: `registry.push(x)`, `state.items.clear()`), or nothing.
 */
function mutationAt(id: ts.Identifier): "write" | "call" | undefined {
  let node: ts.Node = id;
  let member = false;
  for (;;) {
    const p = node.parent;
    if ((ts.isPropertyAccessExpression(p) || ts.isElementAccessExpression(p)) && p.expression === node) member = true;
    else if (!(ts.isParenthesizedExpression(p) || ts.isNonNullExpression(p) || ts.isAsExpression(p) || ts.isSatisfiesExpression(p) || ts.isTypeAssertionExpression(p))) break;
    node = p;
  }
  const p = node.parent;
  if (ts.isBinaryExpression(p) && p.left === node && p.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && p.operatorToken.kind <= ts.SyntaxKind.LastAssignment) return "write";
  if ((ts.isPrefixUnaryExpression(p) || ts.isPostfixUnaryExpression(p)) && (p.operator === ts.SyntaxKind.PlusPlusToken || p.operator === ts.SyntaxKind.MinusMinusToken)) return "write";
  if (ts.isDeleteExpression(p)) return "write";
  if (ts.isCallExpression(p) && p.arguments[0] === node && WRITERS.test(p.expression.getText().replace(/\s+/g, ""))) return "write";
  if (member && ts.isCallExpression(p) && p.expression === node) return "call";
  return undefined;
}

const WRITERS = /^(Object\.(assign|defineProperty|defineProperties|setPrototypeOf)|Reflect\.(set|defineProperty|deleteProperty|setPrototypeOf))$/;

const isRelative = (specifier: string) => specifier.startsWith(".") || path.isAbsolute(specifier);

/** The module specifier expression of an import/export alias declaration (`"./a"` in `import { x } from "./a"`), if it has one. */
function specifierExpression(decl: ts.Node): ts.Expression | undefined {
  if (ts.isImportSpecifier(decl)) return decl.parent.parent.parent.moduleSpecifier;
  if (ts.isImportClause(decl)) return decl.parent.moduleSpecifier;
  if (ts.isNamespaceImport(decl)) return decl.parent.parent.moduleSpecifier;
  if (ts.isExportSpecifier(decl)) return decl.parent.parent.moduleSpecifier;
  if (ts.isNamespaceExport(decl)) return decl.parent.moduleSpecifier;
  if (ts.isImportEqualsDeclaration(decl) && ts.isExternalModuleReference(decl.moduleReference)) return decl.moduleReference.expression;
  return undefined;
}

/** The module specifier node of an import/export alias declaration, when it is a string literal. */
function moduleSpecifierNode(decl: ts.Node): ts.StringLiteral | undefined {
  const spec = specifierExpression(decl);
  return spec && ts.isStringLiteral(spec) ? spec : undefined;
}

/** The module specifier of an import/export alias declaration, when it is a string literal. */
function moduleSpecifierOf(decl: ts.Node): string | undefined {
  const spec = specifierExpression(decl);
  return spec && ts.isStringLiteralLike(spec) ? spec.text : undefined;
}
