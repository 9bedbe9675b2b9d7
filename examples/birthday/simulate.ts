/**
 * The birthday-paradox experiment of memo's README: in a class of `classSize` people, how likely
 * is it that two share a birthday? Estimated by `nSim` simulated classes. CPU-bound, so the sweep
 * runs it on worker threads; each point is logged as one JSON line by `memfile`, with the time it
 * took (`timeTaken`).
 *
 * Worker threads import this module and call `simulate` (a function cannot be sent to a thread),
 * so the log file's path comes from the environment, which workers inherit.
 */
import { memfile, timeTaken } from "memopipe";

/** One simulated estimate. Deterministic per point (a seeded generator), so reruns agree. */
export function birthdayParadox({ classSize, nSim }: { classSize: number; nSim: number }): { estProba: number } {
  let seed = (classSize * 73856093) ^ (nSim * 19349663);
  const next = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const seen = new Uint8Array(365);
  let shared = 0;
  for (let s = 0; s < nSim; s++) {
    seen.fill(0);
    for (let p = 0; p < classSize; p++) {
      const day = Math.floor(next() * 365);
      if (seen[day]) {
        shared++;
        break;
      }
      seen[day] = 1;
    }
  }
  return { estProba: shared / nSim };
}

/** The logged task: `{ classSize, nSim, estProba, timeTaken }` appended to `$BIRTHDAY_LOG` per point. */
export const simulate = memfile({ path: process.env.BIRTHDAY_LOG ?? "results.jsonl" })(timeTaken()(birthdayParadox));
