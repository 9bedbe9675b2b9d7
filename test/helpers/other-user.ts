/**
 * Running a child process as another user (`nobody`, uid/gid 65534), for the tests that need a
 * cache written by one user and read by another. Only root can do it, and only where `nobody` can
 * execute this Node and read the repository: a Node unpacked under a mode-700 temp dir (CI's
 * second, older Node) cannot be run by `nobody`, and a spawn that fails that way raises EACCES
 * asynchronously — a test awaiting the child's exit would hang until its timeout. So the tests ask
 * first, with one cheap probe per file, and skip with the reason when the answer is no.
 *
 * @example
 * const as = otherUser(REPO);
 * if (typeof as === "string") return console.warn(`skipped: ${as}`);
 * spawn(process.execPath, [...], { cwd: REPO, ...as });
 */
import { spawnSync } from "node:child_process";

const NOBODY = { uid: 65534, gid: 65534 } as const;
const probed = new Map<string, { uid: number; gid: number } | string>();

/** `{ uid, gid }` of `nobody` when a child can run as it here with `cwd`, else why not. */
export function otherUser(cwd: string): { uid: number; gid: number } | string {
  const known = probed.get(cwd);
  if (known !== undefined) return known;
  let answer: { uid: number; gid: number } | string;
  if (process.getuid?.() !== 0) answer = "needs root to run a child as another user";
  else {
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", "process.exit(0)"], { cwd, ...NOBODY, encoding: "utf8" });
    answer =
      r.status === 0
        ? NOBODY
        : `uid 65534 cannot run ${process.execPath} in ${cwd} (${r.error?.message ?? r.stderr.trim().split("\n")[0] ?? `exit ${r.status}`})`;
  }
  probed.set(cwd, answer);
  return answer;
}
