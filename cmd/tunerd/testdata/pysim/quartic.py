#!/usr/bin/env python3
"""A cheap objective in stdio mode, for the end-to-end benchmarks: the
separable quartic sum(x^4/4 - x^2/2) of its parameters, one request per
line on stdin, one answer per line on stdout. With --numpy it first
imports numpy (a simulator with a slow start, as many are)."""
import json
import sys

if "--numpy" in sys.argv:
    import numpy  # noqa: F401  (the start-up cost is the point)

stdio = "--stdio" in sys.argv


def answer(line):
    req = json.loads(line)
    f = sum(v * v * v * v / 4 - v * v / 2 for v in req["params"].values())
    return json.dumps({"id": req.get("id"), "value": f})


if stdio:
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(answer(line) + "\n")
            sys.stdout.flush()
else:
    print(answer(sys.stdin.read()))
