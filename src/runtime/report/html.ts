/**
 * A run's report as ONE self-contained HTML file: no server, no CDN, no script (it reads the same
 * with JavaScript off), every picture inline SVG, and a Content-Security-Policy that forbids every
 * outside load, so opening it from disk (or from a CI artifact) loads nothing. Sections: the
 * summary, the graph coloured by status, the timeline, one row per stage run with its reasons,
 * each re-run's details (inputs before and after with a diff, files with their digests and sizes,
 * code parts with their digests or their sources' diff), the cache per stage, and a sweep's
 * results and chart.
 *
 * The same data gives the same bytes: nothing reads the clock or the machine here.
 */
import type { StageEvent } from "../events.js";
import { eventStatus, STATUS_COLOURS, STATUS_ORDER } from "../graph/run-status.js";
import { reasonText } from "../events.js";
import { escapeText } from "../why.js";
import type { CodeChange, EventDetail, FileChange, InputChange, ReportData } from "./collect.js";
import { diffText, type DiffPart } from "./diff.js";
import { escapeHtml } from "./html-text.js";
import { duration, renderTimeline } from "./timeline.js";

/** The policy of every page memopipe writes: nothing from outside, no script; inline styles and data: images only. */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/**
 * Options of `renderReport`.
 *
 * @example
 * await renderReport(data, { title: "imaging, after the helper edit" });
 */
export interface RenderReportOptions {
  readonly title?: string;
  /**
   * Draws the graph as SVG (default: Graphviz through `@viz-js/viz`, loaded on first use). When it
   * throws (the package is not installed), the report says so in place of the picture.
   */
  readonly graphSvg?: (data: ReportData) => Promise<string>;
}

const h = (text: string) => escapeHtml(escapeText(text));

/**
 * The report of `data` (from `collectReport`) as an HTML document.
 *
 * @example
 * writeFileSync("report.html", await renderReport(await collectReport(".memopipe")));
 */
export async function renderReport(data: ReportData, options: RenderReportOptions = {}): Promise<string> {
  const title = options.title ?? `memopipe run ${data.run ?? "(none)"}`;
  const timeline = renderTimeline(data.events);
  let graph: string;
  try {
    graph = await (options.graphSvg ?? defaultGraphSvg)(data);
  } catch (error) {
    graph = `<p class="note">The graph could not be drawn: ${h(error instanceof Error ? error.message : String(error))}</p>`;
  }
  const counts = new Map<string, number>();
  for (const e of data.events) counts.set(eventStatus(e), (counts.get(eventStatus(e)) ?? 0) + 1);
  const summary = STATUS_ORDER.filter((s) => counts.has(s))
    .map((s) => `<span class="pill mp-${s}">${counts.get(s)} ${h(STATUS_COLOURS[s].text)}</span>`)
    .join(" ");
  const body = [
    `<header><h1>${h(title)}</h1>`,
    `<p class="meta">run <code>${h(data.run ?? "none")}</code> · cache <code>${h(data.dir)}</code> · ${data.events.length} stage run${data.events.length === 1 ? "" : "s"}` +
      (timeline.wallMs > 0 || data.events.length > 0 ? ` · ${duration(timeline.wallMs)} from the first start to the last end · peak concurrency ${timeline.peak}` : "") +
      `</p>`,
    `<p class="summary">${summary || "no cached stage ran in this run"}</p></header>`,
    section("graph", "Graph", [graph, legend(), graphNote(data)].join("\n")),
    section("timeline", "Timeline", timeline.svg ? `<div class="scroll">${timeline.svg}</div>${timeline.untimed ? `<p class="note">${timeline.untimed} events without times (an older log format) are not drawn.</p>` : ""}` : `<p class="note">No event of this run has start and end times.</p>`),
    section("stages", "Stage runs", stageTable(data)),
    section("reruns", "Why they ran", reruns(data)),
    section("cache", "Cache per stage", cacheTable(data)),
    ...(data.sweep ? [section("sweep", "Sweep results", sweep(data))] : []),
  ];
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="memopipe report">',
    `<title>${h(title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    ...body,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

async function defaultGraphSvg(data: ReportData): Promise<string> {
  const { renderGraphSvg } = await import("../graph/svg.js");
  // stages without edges (events that name no predecessors) are laid out in a row, in run order
  return renderGraphSvg(data.graph, { direction: data.graph.edges.length > 0 ? "LR" : "TB" });
}

function section(id: string, heading: string, content: string): string {
  return `<section id="${id}">\n<h2>${heading}</h2>\n${content}\n</section>`;
}

function legend(): string {
  return `<p class="legend">${STATUS_ORDER.map((s) => `<span class="pill mp-${s}">${h(STATUS_COLOURS[s].text)}</span>`).join(" ")}</p>`;
}

function graphNote(data: ReportData): string {
  if (data.graphSource === "describe") return "";
  const withPreds = data.events.some((e) => e.predecessors !== undefined);
  return `<p class="note">Drawn from the run's events${withPreds ? " (stages and the predecessors each waited for)" : ": these events name no predecessors, so the stages are drawn without edges"}; stages that are not cached record no events. <code>memopipe report --graph module#export</code> draws the pipeline's own graph.</p>`;
}

function statusCell(e: StageEvent): string {
  const s = eventStatus(e);
  return `<td class="status"><span class="pill mp-${s}">${h(STATUS_COLOURS[s].text)}</span></td>`;
}

function stageTable(data: ReportData): string {
  if (data.events.length === 0) return `<p class="note">No cached stage ran in this run.</p>`;
  const rows = data.events.map((e, i) => {
    const s = eventStatus(e);
    const reasons = e.reasons.map((r) => `<li>${h(reasonText(r))}</li>`).join("");
    const why = s === "hit" ? "" : `${e.error ? `<p class="error">${h(e.error)}</p>` : ""}${reasons ? `<ul>${reasons}</ul>` : ""}${data.details[i] ? ` <a href="#run-${i}">details</a>` : ""}`;
    const warnings = e.warnings?.length ? `<p class="warning">${e.warnings.map(h).join("<br>")}</p>` : "";
    return (
      `<tr class="mp-row mp-${s}" data-stage="${h(e.stage)}">` +
      `<td class="stage"><code>${h(e.stage)}</code></td>${statusCell(e)}` +
      `<td class="num">${(e.seconds * 1000).toFixed(1)} ms</td>` +
      `<td class="reasons">${why}${warnings}</td>` +
      `<td class="num">${e.outputBytes !== undefined ? bytes(e.outputBytes) : ""}</td>` +
      `<td class="num">${e.waitedMs ? `${e.waitedMs} ms` : ""}</td>` +
      `<td><code>${h(e.worker ?? "")}</code></td></tr>`
    );
  });
  return `<table class="runs"><thead><tr><th>stage</th><th>status</th><th>time</th><th>why</th><th>outputs</th><th>waited</th><th>worker</th></tr></thead>\n<tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

function reruns(data: ReportData): string {
  const parts: string[] = [];
  data.events.forEach((e, i) => {
    const d = data.details[i];
    if (!d) return;
    const s = eventStatus(e);
    parts.push(
      `<article id="run-${i}" class="rerun mp-${s}"><h3><code>${h(e.stage)}</code> <span class="pill mp-${s}">${h(STATUS_COLOURS[s].text)}</span></h3>` +
        `<ul class="reasons">${e.reasons.map((r) => `<li>${h(reasonText(r))}</li>`).join("")}</ul>` +
        (e.error ? `<p class="error">${h(e.error)}</p>` : "") +
        details(d, data.sourcesKept) +
        `<p class="keys">entry <code>${e.key.slice(0, 16)}</code>${e.previousKey ? ` compared with <code>${e.previousKey.slice(0, 16)}</code>, the stage's latest entry before` : ""}</p></article>`,
    );
  });
  return parts.length ? parts.join("\n") : `<p class="note">Nothing re-ran: every stage was a hit.</p>`;
}

function details(d: EventDetail, sourcesKept: boolean): string {
  return [...d.inputs.map(inputChange), ...d.files.map(fileChange), ...d.code.map((c) => codeChange(c, sourcesKept))].join("\n");
}

function inputChange(c: InputChange): string {
  const value = (v: { digest: string; value?: unknown } | undefined) => (v && "value" in v ? `${JSON.stringify(v.value, null, 2)}\n` : undefined);
  const before = value(c.before);
  const after = value(c.after);
  const digests = `<p>digest <code>${short(c.before?.digest)}</code> → <code>${short(c.after?.digest)}</code></p>`;
  const missing = "not in a record (a failed run records nothing; a record keeps plain JSON values up to 4 KiB)";
  const shown =
    before !== undefined && after !== undefined
      ? diffBlock(diffText(before, after, [before, after].some((v) => v.trimEnd().includes("\n")) ? "lines" : "tokens"), "value before → after")
      : before !== undefined || after !== undefined
        ? `<figure class="diff"><figcaption>value ${before !== undefined ? "before" : "after"} (the value ${before !== undefined ? "after" : "before"} is ${missing})</figcaption><pre>${(before ?? after)!.split("\n").map(h).join("\n")}</pre></figure>`
        : `<p class="note">The values are ${missing}.</p>`;
  return `<div class="change"><h4>input <code>${h(c.name)}</code></h4>${digests}${shown}</div>`;
}

function fileChange(c: FileChange): string {
  const size = c.sizeBefore !== undefined || c.sizeAfter !== undefined ? `<p>size <span class="num">${maybeBytes(c.sizeBefore)}</span> → <span class="num">${maybeBytes(c.sizeAfter)}</span></p>` : "";
  const now = c.now ? `<p>now: ${bytes(c.now.size)}, modified <time>${h(c.now.mtime)}</time></p>` : `<p class="note">The file is not there any more.</p>`;
  return `<div class="change"><h4>file <code>${h(c.path)}</code></h4><p>SHA-256 <code>${short(c.before)}</code> → <code>${short(c.after)}</code></p>${size}${now}</div>`;
}

function codeChange(c: CodeChange, sourcesKept: boolean): string {
  const digests = `<p>digest <code>${short(c.before)}</code> → <code>${short(c.after)}</code></p>`;
  if (c.sourceBefore !== undefined || c.sourceAfter !== undefined) {
    return `<div class="change"><h4>${h(c.name)}</h4>${digests}${diffBlock(diffText(c.sourceBefore ?? "", c.sourceAfter ?? "", [c.sourceBefore, c.sourceAfter].some((t) => t?.trimEnd().includes("\n")) ? "lines" : "tokens"), "normalised source before → after")}</div>`;
  }
  const why = sourcesKept
    ? "This part's sources are not in the cache's store of normalised sources."
    : "The cache keeps no normalised sources of code parts yet, so only the digests can be shown: compare the file in version control.";
  return `<div class="change"><h4>${h(c.name)}</h4>${digests}<p class="note">${why}</p></div>`;
}

function diffBlock(parts: readonly DiffPart[], caption: string): string {
  // line breaks stay line breaks in a <pre>; everything else is escaped as everywhere
  const lines = (text: string) => text.split("\n").map(h).join("\n");
  const body = parts
    .map((p, i) => (p.op === "same" ? lines(context(p.text, i > 0, i < parts.length - 1)) : p.op === "del" ? `<del>${lines(p.text)}</del>` : `<ins>${lines(p.text)}</ins>`))
    .join("");
  return `<figure class="diff"><figcaption>${caption} (<del>removed</del> <ins>added</ins>)</figcaption><pre>${body}</pre></figure>`;
}

/**
 * An unchanged stretch of a line diff, shortened to 3 lines of context on each side of a change
 * (`… 40 unchanged lines …` in between): a 64-element array with two changed elements stays short.
 */
function context(text: string, changeBefore: boolean, changeAfter: boolean): string {
  const ls = text.split(/(?<=\n)/);
  const keepHead = changeBefore ? 3 : 0;
  const keepTail = changeAfter ? 3 : 0;
  if (ls.length <= keepHead + keepTail + 2) return text;
  const hidden = ls.length - keepHead - keepTail;
  return `${ls.slice(0, keepHead).join("")}… ${hidden} unchanged line${hidden === 1 ? "" : "s"} …\n${ls.slice(ls.length - keepTail).join("")}`;
}

function cacheTable(data: ReportData): string {
  const stages = Object.entries(data.cache);
  if (stages.length === 0) return `<p class="note">The cache has no entries.</p>`;
  const total = stages.reduce((a, [, v]) => a + v.bytes, 0);
  const rows = stages.map(
    ([name, v]) =>
      `<tr data-stage="${h(name)}"><td><code>${h(name)}</code></td><td class="num">${v.entries}</td><td class="num">${bytes(v.bytes)}</td><td><span class="meter"><span class="fill" data-share="${(v.bytes / Math.max(1, total)).toFixed(3)}">${"█".repeat(Math.max(1, Math.round((v.bytes / Math.max(1, total)) * 20)))}</span></span></td></tr>`,
  );
  return `<table class="cache"><thead><tr><th>stage</th><th>entries</th><th>bytes</th><th>share</th></tr></thead>\n<tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

function sweep(data: ReportData): string {
  const s = data.sweep!;
  const columns = [...new Set(s.records.flatMap((r) => Object.keys(r)))];
  const shown = s.records.slice(0, 500);
  const cell = (v: unknown) => (typeof v === "number" ? `<td class="num">${h(String(v))}</td>` : `<td>${h(typeof v === "string" ? v : JSON.stringify(v) ?? "")}</td>`);
  const table =
    `<table class="sweep"><thead><tr>${columns.map((c) => `<th>${h(c)}</th>`).join("")}</tr></thead>\n<tbody>\n` +
    shown.map((r) => `<tr>${columns.map((c) => cell(r[c])).join("")}</tr>`).join("\n") +
    `\n</tbody></table>` +
    (s.records.length > shown.length ? `<p class="note">The first ${shown.length} of ${s.records.length} records.</p>` : "");
  return `<p>${s.records.length} records from <code>${h(s.source)}</code></p>${s.chart ? `<div class="chart scroll">${s.chart}</div>` : ""}<div class="scroll">${table}</div>`;
}

function short(digest: string | undefined): string {
  return digest ? h(digest.slice(0, 16)) : "—";
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function maybeBytes(n: number | undefined): string {
  return n === undefined ? "—" : bytes(n);
}

// The page's CSS, built once at first use of the module's value: marked pure, so that a bundle of a
// program that never writes a report drops it (and what it references) instead of running it.
const STYLE = /* @__PURE__ */ (() => {
  const pills = STATUS_ORDER.map((s) => `.mp-${s} .pill,.pill.mp-${s}{background:${STATUS_COLOURS[s].fill};border-color:${STATUS_COLOURS[s].stroke}}`).join("");
  const rows = STATUS_ORDER.map((s) => `tr.mp-${s} td.stage{border-left:4px solid ${STATUS_COLOURS[s].stroke}}`).join("");
  return [
  "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#212529;margin:0 auto;padding:1.2rem 1.5rem 3rem;max-width:1100px}",
  "h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:2rem 0 .6rem;border-bottom:1px solid #dee2e6;padding-bottom:.2rem}h3{font-size:1rem;margin:.2rem 0}h4{font-size:.95rem;margin:.6rem 0 .2rem}",
  "code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}",
  ".meta{color:#495057;margin:.2rem 0}.note{color:#6c757d;font-size:.9em}",
  ".pill{display:inline-block;border:1px solid #adb5bd;border-radius:999px;padding:0 .55em;font-size:.85em;white-space:nowrap}",
  "table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #e9ecef}th{font-weight:600;background:#f8f9fa}",
  "td.num,th.num,.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.reasons ul,ul.reasons{margin:0;padding-left:1.1rem}",
  ".error{color:#c92a2a;margin:0;font-weight:600}.warning{color:#e67700;margin:0}",
  ".rerun{border:1px solid #dee2e6;border-radius:6px;padding:.6rem .9rem;margin:.8rem 0}.keys{color:#6c757d;font-size:.85em}",
  ".diff{margin:.3rem 0}.diff figcaption{font-size:.85em;color:#495057}.diff pre{background:#f8f9fa;border:1px solid #e9ecef;padding:.5rem;overflow:auto;white-space:pre-wrap;word-break:break-word}",
  "del{background:#ffe3e3;color:#c92a2a;text-decoration:line-through}ins{background:#d3f9d8;color:#2b8a3e;text-decoration:none}",
  ".scroll{overflow-x:auto}svg{max-width:100%;height:auto}.meter .fill{color:#74c0fc;letter-spacing:-1px}",
  "@media print{.scroll{overflow:visible}}",
  pills,
  rows,
  ].join("\n");
})();

