/** The threads Runner's chunk sizes and the queue of points not sent yet (src/runtime/runner/chunks.ts). */
import { describe, expect, it } from "vitest";
import { ChunkSizer, MAX_CHUNK, RangeQueue } from "../../src/runtime/runner/chunks.js";

describe("ChunkSizer", () => {
  it("auto: one point until something is measured, then ~1 ms of work, following the points' speed", () => {
    const sizer = new ChunkSizer("auto");
    expect(sizer.next(10_000, 4)).toBe(1);
    sizer.observe(0.5, 50); // 10 µs a point
    expect(sizer.next(10_000, 4)).toBe(100);
    for (let i = 0; i < 20; i++) sizer.observe(2, 1); // points became slow: 2 ms each
    expect(sizer.next(10_000, 4)).toBe(1);
  });

  it("auto: one chunk slowed by a busy machine does not shrink the next ones; a real change shows in three", () => {
    const sizer = new ChunkSizer("auto");
    for (let i = 0; i < 4; i++) sizer.observe(1, 100); // 10 µs a point
    sizer.observe(100, 100); // descheduled mid-chunk: 1 ms a point
    expect(sizer.next(10_000, 4)).toBe(100);
    sizer.observe(20, 100);
    sizer.observe(20, 100); // three of the last five at 0.2 ms or more
    expect(sizer.next(10_000, 4)).toBe(5);
  });

  it("auto: never more than MAX_CHUNK, and the tail gets equal shares but not below a quarter of the size", () => {
    const sizer = new ChunkSizer("auto");
    sizer.observe(0, 1000); // free points
    expect(sizer.next(1_000_000, 4)).toBe(MAX_CHUNK);
    const ten = new ChunkSizer("auto");
    ten.observe(1, 100); // 10 µs a point: 100 per chunk
    expect(ten.next(200, 4)).toBe(50);
    expect(ten.next(40, 4)).toBe(25);
    expect(ten.next(3, 4)).toBe(25);
  });

  it("a fixed size is kept (but no more than what is left); bad measurements are ignored", () => {
    const sizer = new ChunkSizer(7);
    sizer.observe(100, 1);
    expect(sizer.next(100, 4)).toBe(7);
    expect(sizer.next(3, 4)).toBe(3);
    const auto = new ChunkSizer("auto");
    auto.observe(Number.NaN, 10);
    auto.observe(1, 0);
    expect(auto.next(100, 2)).toBe(1);
  });
});

describe("RangeQueue", () => {
  it("hands out consecutive ranges, and what is put back comes first", () => {
    const q = new RangeQueue(10);
    expect(q.take(4)).toEqual([0, 4]);
    expect(q.remaining).toBe(6);
    q.putBack(2, 4);
    q.putBack(0, 1);
    expect(q.remaining).toBe(9);
    expect(q.take(5)).toEqual([0, 1]);
    expect(q.take(5)).toEqual([2, 4]);
    expect(q.take(100)).toEqual([4, 10]);
    expect(q.take(1)).toBeUndefined();
    q.putBack(3, 3); // empty: nothing
    expect(q.remaining).toBe(0);
    expect(new RangeQueue(0).take(1)).toBeUndefined();
  });
});
