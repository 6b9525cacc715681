#!/usr/bin/env python3
"""Optuna's NSGA-II on the bi-objective problems of examples/pareto.

Benchmark aid only (Debian's python3-optuna); zotune does not use it.
Same problems, boxes, reference points and budgets as main.go; prints the
hypervolume of the non-dominated set of every trial, median [min-max] over
the seeds.

    /usr/bin/python3 examples/pareto/nsga2.py --budgets 500,2000,8000 --seeds 5
"""

import argparse
import math
import statistics

import optuna


def bowls(d):
    a = [0.5] + [0.0] * (d - 1)
    b = [-0.5, 0.5] + [0.0] * (d - 2)

    def f(x):
        return (sum((xi - ai) ** 2 for xi, ai in zip(x, a)),
                sum((xi - bi) ** 2 for xi, bi in zip(x, b)))
    return "two bowls, d = %d" % d, d, (-2.0, 2.0), f, (2.5, 2.5)


def zdt1(d):
    def f(x):
        g = 1 + 9 * sum(x[1:]) / (d - 1)
        return x[0], g * (1 - math.sqrt(x[0] / g))
    return "ZDT1, d = %d" % d, d, (0.0, 1.0), f, (1.1, 1.1)


def hypervolume(pts, ref):
    pts = sorted(p for p in pts if p[0] < ref[0] and p[1] < ref[1])
    hv, best = 0.0, ref[1]
    for p in pts:
        if p[1] < best:
            hv += (ref[0] - p[0]) * (best - p[1])
            best = p[1]
    return hv


def run(problem, budget, seed):
    _, d, (lo, hi), f, ref = problem
    pts = []

    def objective(trial):
        x = [trial.suggest_float("x%d" % i, lo, hi) for i in range(d)]
        v = f(x)
        pts.append(v)
        return v

    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=optuna.samplers.NSGAIISampler(seed=seed))
    study.optimize(objective, n_trials=budget)
    return hypervolume(pts, ref)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", default="500,2000,8000")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print("| problem | budget | NSGA-II HV (median [min-max]) |")
    print("|---|---|---|")
    for problem in (bowls(5), bowls(20), zdt1(10), zdt1(30)):
        for budget in (int(b) for b in args.budgets.split(",")):
            hvs = [run(problem, budget, s) for s in range(1, args.seeds + 1)]
            print("| %s | %d | %.4f [%.4f-%.4f] |" % (problem[0], budget, statistics.median(hvs), min(hvs), max(hvs)), flush=True)


if __name__ == "__main__":
    main()
