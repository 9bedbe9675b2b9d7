"""Helper of bench/cache.ts: the joblib.Memory side of the cache hit/miss benchmark.

    python3 bench/cache-joblib.py populate|hit <location> <entries> <rounds>

Same work as bench/cache-worker.ts (memopipe): a function of a dict of 100 numbers and a string
returning 800 floats and the string, cached with ``joblib.Memory(location).cache(f)``.

- ``populate``: times the bare function, then ``entries`` misses (compute + write).
- ``hit``: a fresh process: the first hit on its own, then ``rounds`` passes over the other
  entries. Checks the function never runs and the values are right.

Prints one line ``RESULT <json>``, per-call times in microseconds measured inside the process.
"""
import json
import math
import os
import sys
import time

import joblib
from joblib import Memory

VALUES = 800
computed = 0


def inputs_for(i):
    params = {"p%02d" % k: i * 1000 + k * 0.25 for k in range(100)}
    return params, "sample-%d" % i


def compute(params, label):
    s = 0.0
    for k in params:
        s += params[k]
    values = [math.floor(math.sin(j + s) * 1e6 + 0.5) / 1e6 for j in range(VALUES)]
    return {"values": values, "label": label}


def bench_hit(params, label):
    global computed
    computed += 1
    return compute(params, label)


def quantile(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def summary(us):
    return {"n": len(us), "medianUs": median(us), "p10Us": quantile(us, 0.1), "p90Us": quantile(us, 0.9), "minUs": min(us)}


def entry_sizes(location):
    for root, _dirs, files in os.walk(location):
        if "output.pkl" in files:
            return {f: os.path.getsize(os.path.join(root, f)) for f in files}
    return {}


def main():
    mode, location = sys.argv[1], sys.argv[2]
    entries = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    memory = Memory(location, verbose=0)
    cached = memory.cache(bench_hit)
    inputs = [inputs_for(i) for i in range(entries)]
    now = lambda: time.perf_counter_ns() / 1000.0  # µs

    if mode == "populate":
        bare = []
        for _ in range(5):
            for params, label in inputs:
                t0 = now()
                compute(params, label)
                bare.append(now() - t0)
        misses = []
        for params, label in inputs:
            t0 = now()
            cached(params, label)
            misses.append(now() - t0)
        if computed != entries:
            raise SystemExit("populate: expected %d runs, the function ran %d times" % (entries, computed))
        result = {
            "side": "joblib",
            "mode": mode,
            "joblib": joblib.__version__,
            "python": sys.version.split()[0],
            "computeUs": summary(bare),
            "firstMissUs": misses[0],
            "miss": summary(misses[1:]),
            "entrySizes": entry_sizes(location),
        }
    elif mode == "hit":
        t0 = now()
        first = cached(*inputs[0])
        first_hit = now() - t0
        hits = []
        last = None
        for _ in range(rounds):
            for i in range(1, entries):
                t = now()
                last = cached(*inputs[i])
                hits.append(now() - t)
        if computed != 0:
            raise SystemExit("hit: the function ran %d times; expected only hits" % computed)
        if first != compute(*inputs[0]) or last != compute(*inputs[entries - 1]):
            raise SystemExit("hit: wrong value")
        result = {"side": "joblib", "mode": mode, "firstHitUs": first_hit, "hit": summary(hits)}
    else:
        raise SystemExit("usage: cache-joblib.py populate|hit <location> <entries> <rounds>")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
