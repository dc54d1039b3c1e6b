"""The differential suite's cases, one module per layer family. Adding a
family: write cases/NAME.py with GENERATORS (functions returning lists of
core.Case) and BATCH_GROUPS, and list it in FAMILIES."""

import importlib
import re

from cases.core import REJECTED  # noqa: F401

FAMILIES = ["conv", "pool", "layers", "ops", "shape_ops", "fusion", "norms",
            "upsample", "functionals"]


def _modules():
    return [importlib.import_module("cases." + f) for f in FAMILIES]


def all_cases():
    cases, groups = [], []
    for mod in _modules():
        groups.extend(mod.BATCH_GROUPS)
        for gen in mod.GENERATORS:
            cases.extend(gen())
    counters = {}
    for c in cases:
        for rx, g in groups:
            if re.search(rx, c.group):
                c.group = g
                break
        c.group = re.sub(r"[^\w.=-]", "_", c.group)
        j = counters.get(c.family, 0)
        counters[c.family] = j + 1
        c.id = "%s#%d" % (c.family, j)
    return cases


