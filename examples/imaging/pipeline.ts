/**
 * A memori-style imaging pipeline: file inputs, a fan-in DAG, every stage cached.
 *
 *   load ──┬── denoise ──┐
 *          └── mask ─────┴── measure
 */
import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { dag, stage, type FileRef } from "memopipe";
import { brainMask, smooth } from "./helpers.js";

export function imagingPipeline(cacheDir: string, outDir: string) {
  const cache = { dir: cacheDir };
  const load = stage(
    "load",
    async ({ scan }: { scan: FileRef }) => ({ voxels: (await readFile(scan.path, "utf8")).trim().split(/\s+/).map(Number) }),
    { cache },
  );
  const denoise = stage("denoise", ({ voxels }: { voxels: number[] }) => ({ smoothed: smooth(voxels) }), { cache });
  const mask = stage("mask", ({ voxels }: { voxels: number[] }) => ({ mask: brainMask(voxels) }), { cache });
  const measure = stage(
    "measure",
    ({ smoothed, mask, subject }: { smoothed: number[]; mask: boolean[]; subject: string }) => {
      const inside = smoothed.filter((_, i) => mask[i]);
      const mean = inside.reduce((a, b) => a + b, 0) / Math.max(1, inside.length);
      const report = path.join(outDir, `${subject}-report.json`);
      writeFileSync(report, JSON.stringify({ subject, mean, voxels: inside.length }, null, 2));
      return { mean, report };
    },
    { cache },
  );
  // `subject` is a DAG input that only `measure` reads: declared on dag(), not on `load`
  return dag<{ subject: string }>().start(load).edge(load, denoise).edge(load, mask).edge([denoise, mask], measure);
}
