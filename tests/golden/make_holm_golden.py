#!/usr/bin/python3
"""Golden values for the report's multiple-test statistics (src/report/stats.cpp).

Independent of the C++ code: the two-sided p-value of Student's t from mpmath's regularised
incomplete beta function at 50 digits, and Holm's step-down procedure written from its
definition (Holm 1979): sort the p-values, reject H_(k) while p_(k) <= alpha / (m - k + 1),
and the adjusted p_(k) = max_{j <= k} min(1, (m - j + 1) p_(j)). Rerun with

    /usr/bin/python3 tests/golden/make_holm_golden.py > tests/golden/holm.json
"""
import json
import random

import mpmath

mpmath.mp.dps = 50


def t_two_sided_p(t, dof):
    v = mpmath.mpf(dof)
    x = v / (v + mpmath.mpf(t) ** 2)
    return float(mpmath.betainc(v / 2, mpmath.mpf(1) / 2, 0, x, regularized=True))


def holm(p, alpha=0.05):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])  # stable: ties keep their order
    adjusted = [0.0] * m
    running = 0.0
    for k, i in enumerate(order):            # k from 0: the factor is m - k
        running = max(running, min(1.0, (m - k) * p[i]))
        adjusted[i] = running
    rejected = [False] * m
    for k, i in enumerate(order):            # the step-down rule itself, stopping at the first
        if p[i] <= alpha / (m - k):
            rejected[i] = True
        else:
            break
    return adjusted, rejected


def main():
    rng = random.Random(20240607)
    t_cases = [(t, dof) for dof in (1, 2, 3, 4, 5, 9, 29, 30, 31, 100)
               for t in (0.0, 0.5, 1.0, 2.0, 2.776, 4.0, 10.0, -3.0)]
    t_cases += [(rng.uniform(-8, 8), rng.randint(1, 60)) for _ in range(20)]
    t_rows = [{"t": t, "dof": dof, "p": t_two_sided_p(t, dof)} for t, dof in t_cases]
    holm_rows = []
    for m in (1, 2, 3, 5, 8, 13):
        for _ in range(3):
            # Mix tiny, moderate and large p-values so that the step-down stops mid-way.
            p = [rng.choice([rng.uniform(0, 0.01), rng.uniform(0, 0.06), rng.uniform(0, 1)])
                 for _ in range(m)]
            adjusted, rejected = holm(p)
            holm_rows.append({"p": p, "adjusted": adjusted, "rejected_at_0.05": rejected})
    print(json.dumps({"t_two_sided_p": t_rows, "holm": holm_rows}, indent=1))


if __name__ == "__main__":
    main()
