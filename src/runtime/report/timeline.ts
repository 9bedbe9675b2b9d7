/**
 * A run's timeline (a Gantt chart) as inline SVG: one row per stage run, a bar from its start to
 * its end on a common time axis, coloured by status, so stages that ran at the same time overlap
 * visibly; a hit (a few milliseconds) still gets a bar of at least 4 px. Below the bars, the number
 * of stages running at each moment (the run's concurrency). No script: each bar's `<title>` is its
 * tooltip, and `data-*` attributes carry the times for tests and tools.
 */
import type { StageEvent } from "../events.js";
import { eventStatus, STATUS_COLOURS } from "../graph/run-status.js";
import { escapeText } from "../why.js";
import { escapeHtml } from "./html-text.js";

const LABEL_WIDTH = 170;
const PLOT_WIDTH = 640;
const ROW = 22;
const BAR = 14;
const MIN_BAR = 4;
const AXIS = 26;
const CONCURRENCY = 48;

/** What the timeline drew: the SVG, and the run's peak concurrency and wall time. */
export interface Timeline {
  readonly svg: string;
  readonly peak: number;
  readonly wallMs: number;
  /** Events without start and end times (format 1), left out. */
  readonly untimed: number;
}

/**
 * The timeline of `events` (those with `start` and `end`).
 *
 * @example
 * const { svg, peak } = renderTimeline(events); // peak: 2 when denoise and mask ran together
 */
export function renderTimeline(events: readonly StageEvent[]): Timeline {
  const timed = events
    .map((e, index) => ({ e, index }))
    .filter((x): x is { e: StageEvent & { start: number; end: number }; index: number } => typeof x.e.start === "number" && typeof x.e.end === "number")
    .sort((a, b) => a.e.start - b.e.start || a.index - b.index);
  if (timed.length === 0) return { svg: "", peak: 0, wallMs: 0, untimed: events.length };
  const t0 = Math.min(...timed.map((x) => x.e.start));
  const t1 = Math.max(...timed.map((x) => x.e.end));
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => LABEL_WIDTH + ((t - t0) / span) * PLOT_WIDTH;
  const height = timed.length * ROW + AXIS + CONCURRENCY + 12;
  const width = LABEL_WIDTH + PLOT_WIDTH + 20;
  const out: string[] = [
    `<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="timeline of the run">`,
  ];
  // the time axis: five ticks
  for (let i = 0; i <= 4; i++) {
    const t = t0 + (span * i) / 4;
    const tx = x(t).toFixed(1);
    out.push(`<line class="tick" x1="${tx}" x2="${tx}" y1="0" y2="${timed.length * ROW}" stroke="#dee2e6"/>`);
    out.push(`<text class="tick-label" x="${tx}" y="${timed.length * ROW + 16}" text-anchor="middle" font-size="11" fill="#495057">${duration(t - t0)}</text>`);
  }
  timed.forEach(({ e, index }, row) => {
    const status = eventStatus(e);
    const colour = STATUS_COLOURS[status];
    const y = row * ROW;
    const left = x(e.start);
    const w = Math.max(MIN_BAR, x(e.end) - left);
    const name = escapeHtml(escapeText(e.stage));
    out.push(`<text class="row-label" x="${LABEL_WIDTH - 8}" y="${y + ROW / 2 + 4}" text-anchor="end" font-size="12" fill="#212529">${name}</text>`);
    out.push(
      `<rect class="bar mp-${status}" data-stage="${name}" data-event="${index}" data-start="${e.start - t0}" data-end="${e.end - t0}" x="${left.toFixed(1)}" y="${y + (ROW - BAR) / 2}" width="${w.toFixed(1)}" height="${BAR}" rx="2" fill="${colour.fill}" stroke="${colour.stroke}">` +
        `<title>${name}: ${escapeHtml(colour.text)}, ${duration(e.start - t0)} → ${duration(e.end - t0)} (${(e.seconds * 1000).toFixed(1)} ms)${e.worker ? ` on ${escapeHtml(escapeText(e.worker))}` : ""}</title></rect>`,
    );
  });
  // concurrency: how many stages run at each moment (a step line)
  const changes = timed.flatMap(({ e }) => [
    { t: e.start, d: 1 },
    { t: e.end, d: -1 },
  ]);
  changes.sort((a, b) => a.t - b.t || a.d - b.d);
  let running = 0;
  let peak = 0;
  for (const c of changes) peak = Math.max(peak, (running += c.d));
  const base = timed.length * ROW + AXIS + CONCURRENCY;
  const level = (n: number) => base - (n / Math.max(1, peak)) * (CONCURRENCY - 8);
  const points: string[] = [`${x(t0).toFixed(1)},${level(0).toFixed(1)}`];
  running = 0;
  for (const c of changes) {
    points.push(`${x(c.t).toFixed(1)},${level(running).toFixed(1)}`);
    running += c.d;
    points.push(`${x(c.t).toFixed(1)},${level(running).toFixed(1)}`);
  }
  out.push(`<text x="${LABEL_WIDTH - 8}" y="${base - 4}" text-anchor="end" font-size="11" fill="#495057">stages running</text>`);
  out.push(`<text x="${LABEL_WIDTH - 8}" y="${level(peak) + 4}" text-anchor="end" font-size="10" fill="#868e96">${peak}</text>`);
  out.push(`<polyline class="concurrency" data-peak="${peak}" points="${points.join(" ")}" fill="none" stroke="#3b5bdb" stroke-width="1.5"/>`);
  out.push(`<line x1="${LABEL_WIDTH}" x2="${LABEL_WIDTH + PLOT_WIDTH}" y1="${base}" y2="${base}" stroke="#adb5bd"/>`);
  out.push("</svg>");
  return { svg: out.join("\n"), peak, wallMs: t1 - t0, untimed: events.length - timed.length };
}

/** `0.25 ms`, `2.5 ms`, `12 ms`, `1.25 s`, `2 min 3 s`. */
export function duration(ms: number): string {
  if (ms < 10) return `${Number(ms.toFixed(ms < 1 ? 2 : 1))} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}
