"""zotune against Optuna's TPE on a scikit-learn pipeline (svm.py), at equal
evaluation budgets, over several seeds.

    /usr/bin/python3 examples/sklearn/bench.py [--seeds 5] [--budgets 50,100,200]

Run from the repository root; needs Go, python3-sklearn and python3-optuna
(Debian packages; a benchmark's yardstick, never a zotune dependency). For
each seed and budget it runs `tunerd run --fresh` on a study of its own
(stdio evaluators, 4 slots) and reads the best value from summary.json;
TPE (optuna.samplers.TPESampler(seed=seed), its defaults) runs its trials
one after another, and its best after the first n trials is its best at
budget n, since its choices do not depend on the budget.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svm  # noqa: E402

C_RANGE = (1e-3, 1e3)
GAMMA_RANGE = (1e-6, 1.0)

CONFIG = """
[daemon]
data_dir = "{dir}/runs"
log_level = "warn"

[[evaluator]]
objective = "svm"
command = ["{python}", "{sim}"]
mode = "stdio"
slots = 4
timeout = "120s"

[[study]]
name = "svm"
objective = "svm"
seed = {seed}
max_evaluations = {budget}
  [[study.param]]
  name = "C"
  min = {c[0]}
  max = {c[1]}
  scale = "log"
  [[study.param]]
  name = "gamma"
  min = {g[0]}
  max = {g[1]}
  scale = "log"
"""


def zotune(tunerd, seed, budget):
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "config.toml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(dir=d, python=sys.executable, sim=os.path.abspath(svm.__file__),
                                  seed=seed, budget=budget, c=C_RANGE, g=GAMMA_RANGE))
        subprocess.run([tunerd, "run", "--fresh", cfg], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(os.path.join(d, "runs", "svm", "summary.json")) as f:
            s = json.load(f)
    return s["best"]["value"], s["spent"], s["status"], len(s.get("runs") or [1])


def tpe(seed, budget):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(lambda t: svm.error(t.suggest_float("C", *C_RANGE, log=True),
                                       t.suggest_float("gamma", *GAMMA_RANGE, log=True)), n_trials=budget)
    best, out = float("inf"), []
    for t in study.trials:
        best = min(best, t.value)
        out.append(best)
    return out


def summary(vals):
    return "%.3f%% (%.3f–%.3f)" % (100 * statistics.median(vals), 100 * min(vals), 100 * max(vals))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budgets", default="50,100,200")
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    tunerd = os.path.join(tempfile.mkdtemp(), "tunerd")
    subprocess.run(["go", "build", "-o", tunerd, "./cmd/tunerd"], check=True)
    seeds = range(1, args.seeds + 1)
    tpe_best = {s: tpe(s, max(budgets)) for s in seeds}
    print("| budget | zotune best error, median (range) | TPE best error, median (range) | zotune runs per study |")
    print("|---|---|---|---|")
    for b in budgets:
        z = [zotune(tunerd, s, b) for s in seeds]
        t = [tpe_best[s][b - 1] for s in seeds]
        runs = sorted(r[3] for r in z)
        print("| %d | %s | %s | %d–%d |" % (b, summary([r[0] for r in z]), summary(t), runs[0], runs[-1]),
              flush=True)
        for s, r in zip(seeds, z):
            print("  seed %d: zotune %.4f%% (%s, %d spent), TPE %.4f%%" % (s, 100 * r[0], r[2], r[1], 100 * tpe_best[s][b - 1]),
                  file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
