#!/usr/bin/env python3
"""Stdio driver of the `cmaes` library's CMA-ES for examples/compare.

Benchmark aid only: examples/compare (cmaes.go) starts it to put a well-kept
CMA-ES (Debian's python3-cmaes, CyberAgent's `cmaes`) next to zotune's
optimizers. zotune itself never runs or needs it. Standard library + cmaes.

Protocol, one JSON object per line:

  Go -> driver   {"x0": [...], "sigma": s, "seed": n, "lower": [...], "upper": [...],
                  "popsize": n}
  driver -> Go   {"xs": [[...], ...], "restarts": k}
                                             one whole generation (population_size points)
                                             and the number of restarts so far
  Go -> driver   {"values": [...]}           f at those points, in order
  ... repeated ...
  Go -> driver   {"stop": true}              or end of input: the driver exits

lower/upper may be omitted (no bounds), popsize too (the library's default
population 4 + floor(3 ln d)). Non-finite values must be sent as a
large finite number (JSON has no Inf).

Restarts. When should_stop() holds after a generation, the driver starts a
new CMA (same population size) from the best point found so far, with
the initial sigma and seed seed + k for the k-th restart, so a run is
deterministic for a given seed. The Go side sees only more generations.
"""

import json
import sys

import numpy as np
from cmaes import CMA


def new_cma(mean, sigma, bounds, seed, popsize):
    """A fresh CMA at mean, clipping mean into the bounds."""
    mean = np.asarray(mean, dtype=float)
    if bounds is not None:
        mean = np.clip(mean, bounds[:, 0], bounds[:, 1])
    return CMA(mean=mean, sigma=sigma, bounds=bounds, seed=seed, population_size=popsize)


def read():
    """The next JSON line of stdin, or None at end of input."""
    line = sys.stdin.readline()
    if not line:
        return None
    return json.loads(line)


def write(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    cfg = read()
    if cfg is None:
        return
    sigma = float(cfg["sigma"])
    seed = int(cfg.get("seed", 0))
    popsize = cfg.get("popsize") or None
    bounds = None
    if cfg.get("lower") is not None and cfg.get("upper") is not None:
        bounds = np.array([cfg["lower"], cfg["upper"]], dtype=float).T
    best_x, best_f = np.asarray(cfg["x0"], dtype=float), float("inf")
    restarts = 0
    cma = new_cma(best_x, sigma, bounds, seed, popsize)
    while True:
        xs = [cma.ask() for _ in range(cma.population_size)]
        write({"xs": [x.tolist() for x in xs], "restarts": restarts})
        msg = read()
        if msg is None or msg.get("stop"):
            return
        values = [float(v) for v in msg["values"]]
        if len(values) != len(xs):
            sys.exit("cmaes_driver: got %d values for %d points" % (len(values), len(xs)))
        for x, v in zip(xs, values):
            if v < best_f:
                best_x, best_f = x, v
        cma.tell(list(zip(xs, values)))
        if cma.should_stop():
            restarts += 1
            cma = new_cma(best_x, sigma, bounds, seed + restarts, popsize)


if __name__ == "__main__":
    main()
