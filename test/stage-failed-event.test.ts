/**
 * A cached stage that throws records a `failed` event (with the error and why it ran), so `why`,
 * the graph and the report can show the failure; the error itself goes on unchanged.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { dag, formatWhy, lastRun, stage, StageRunError } from "../src/index.js";

let dir = "";
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env.MEMOPIPE_RUN_ID;
});

it("records a failed event with the error, and the error reaches the caller as it was", async () => {
  dir = mkdtempSync(path.join(tmpdir(), "memopipe-failed-"));
  const cache = { dir };
  let fail = false;
  const s = stage("flaky", ({ n }: { n: number }) => {
    if (fail) throw new RangeError(`n is ${n}\nsecond line`);
    return { m: n };
  }, { cache });
  process.env.MEMOPIPE_RUN_ID = "ok";
  await s.run({ n: 1 });
  process.env.MEMOPIPE_RUN_ID = "bad";
  fail = true;
  const thrown = await s.run({ n: 2 }).catch((e: unknown) => e);
  expect(thrown).toBeInstanceOf(RangeError);
  const { events } = await lastRun(dir);
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ status: "failed", error: "RangeError: n is 2", reasons: [{ kind: "input", name: "n" }] });
  expect(events[0]!.previousKey).toMatch(/^[0-9a-f]{64}$/);
  expect(formatWhy(await lastRun(dir))[0]).toMatch(/^failed {3}flaky: RangeError: n is 2 \(it ran: input `n` changed\) \(\d\.\d{3} s\)$/);
  // nothing was recorded: the next run runs again
  fail = false;
  process.env.MEMOPIPE_RUN_ID = "again";
  await s.run({ n: 2 });
  expect((await lastRun(dir)).events[0]).toMatchObject({ status: "ran" });
});

it("a failing stage of a DAG is a failed event beside its predecessors' events", async () => {
  dir = mkdtempSync(path.join(tmpdir(), "memopipe-failed-"));
  const cache = { dir };
  const a = stage("a", ({ x }: { x: number }) => ({ y: x }), { cache });
  const b = stage("b", ({ y }: { y: number }): { z: number } => {
    throw new Error(`no ${y}`);
  }, { cache });
  process.env.MEMOPIPE_RUN_ID = "dag";
  await expect(dag().start(a).edge(a, b).run({ x: 1 })).rejects.toBeInstanceOf(StageRunError);
  expect((await lastRun(dir)).events.map((e) => [e.stage, e.status, e.error])).toEqual([
    ["a", "ran", undefined],
    ["b", "failed", "Error: no 1"],
  ]);
});
