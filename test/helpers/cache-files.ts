/** Test helpers that look inside a directory store the way a person (or a fault) would. */
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

/** Every entry file under `<dir>/entries` (`entries/<stage-dir>/<kk>/<key>`), sorted. */
export function entryFiles(dir: string): string[] {
  const out: string[] = [];
  const entries = path.join(dir, "entries");
  let stages: string[] = [];
  try {
    stages = readdirSync(entries);
  } catch {
    return out;
  }
  for (const s of stages) {
    const stageDir = path.join(entries, s);
    if (!statSync(stageDir).isDirectory()) continue;
    for (const shard of readdirSync(stageDir)) {
      const shardDir = path.join(stageDir, shard);
      if (!/^[0-9a-f]{2}$/.test(shard) || !statSync(shardDir).isDirectory()) continue;
      for (const name of readdirSync(shardDir)) if (/^[0-9a-f]{64}$/.test(name)) out.push(path.join(shardDir, name));
    }
  }
  return out.sort();
}
