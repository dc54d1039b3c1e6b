"""The latency bench's figures and markdown tables (bench/latency.py
measures, this only computes and formats): per model and peer the median of
the round medians, the fastest single run, the spread between rounds
((max - min) / median of the round medians); GFLOP/s = 2 x MACs / time and
the percentage of the measured FMA peak for the best Kiln column; Kiln's
speed ratio best peer time / best Kiln time (> 1: Kiln faster) and its
geometric mean. A peer whose output failed its check keeps its time in
its column, marked "(FAIL)", but is not the best of its side.
"""

import math
import statistics

PEERS = ["ort", "torch", "kiln_cpp", "kiln_llvm"]
LABELS = {"ort": "ORT", "torch": "PyTorch", "kiln_cpp": "Kiln C++",
          "kiln_llvm": "Kiln LLVM"}


class Series:
    """One peer on one model: a round median and a fastest run per round,
    or the error that kept it from running."""

    def __init__(self):
        self.medians, self.mins, self.iters = [], [], []
        self.error = None

    def add(self, median_ms, min_ms, iters):
        self.medians.append(median_ms)
        self.mins.append(min_ms)
        self.iters.append(iters)

    def ok(self):
        return self.error is None and bool(self.medians)

    def median(self):
        return statistics.median(self.medians) if self.ok() else None

    def minimum(self):
        return min(self.mins) if self.ok() else None

    def spread(self):
        if not self.ok():
            return None
        return (max(self.medians) - min(self.medians)) / self.median()


def best(series, peers, checks):
    """(peer, ms) of the fastest of PEERS that ran and whose output did not
    fail its check, or (None, None)."""
    got = [(series[p].median(), p) for p in peers
           if series[p].ok() and checks.get(p) is not False]
    if not got:
        return None, None
    ms, p = min(got)
    return p, ms


def _ms(v):
    if v is None:
        return "-"
    return "%.3f" % v if v < 10 else "%.2f" % v if v < 100 else "%.1f" % v


def _cell(s):
    return _ms(s.median()) if s.ok() else "n/a"


def check_cell(checks):
    """"ok", or "FAIL (peers)" for those whose output failed the check;
    peers not checked (not run) do not count."""
    bad = [LABELS[p] for p in PEERS if checks.get(p) is False]
    if bad:
        return "FAIL (%s)" % ", ".join(bad)
    if not any(v is True for v in checks.values()):
        return "n/a"
    return "ok"


def headline(rows, peak_gflops):
    """ROWS: [(model, macs, {peer: Series}, {peer: True/False/None})] ->
    (markdown lines, geometric mean or None, models in it)."""
    lines = ["| model | MMACs | ORT ms | PyTorch ms | Kiln C++ ms | "
             "Kiln LLVM ms | Kiln GFLOP/s | % peak | Kiln / best peer | "
             "check |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| --- |"]
    ratios = []
    for model, macs, series, checks in rows:
        kp, kms = best(series, ["kiln_cpp", "kiln_llvm"], checks)
        pp, pms = best(series, ["ort", "torch"], checks)
        gflops = 2 * macs / (kms * 1e-3) / 1e9 if kms and macs else None
        ratio = pms / kms if kms and pms else None
        if ratio:
            ratios.append(ratio)
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                     % (model, ("%.1f" if macs >= 1e7 else "%.3g") %
                        (macs / 1e6) if macs else "-",
                        *[_cell(series[p]) + (" (FAIL)" if checks.get(p)
                                              is False else "")
                          for p in PEERS],
                        "%.2f" % gflops if gflops else "-",
                        "%.1f%%" % (100 * gflops / peak_gflops)
                        if gflops and peak_gflops else "-",
                        "%.2fx (%s vs %s)" % (ratio, LABELS[kp], LABELS[pp])
                        if ratio else "-",
                        check_cell(checks)))
    gmean = math.exp(sum(map(math.log, ratios)) / len(ratios)) \
        if ratios else None
    return lines, gmean, len(ratios)


def details(rows):
    """Per model and peer: median of round medians, fastest run, spread,
    iterations per round, or why it did not run."""
    lines = ["| model | peer | median ms | fastest run ms | spread | "
             "round medians ms | iterations per round |",
             "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for model, _, series, _ in rows:
        for p in PEERS:
            s = series[p]
            if not s.ok():
                lines.append("| %s | %s | n/a | | | %s | |" % (
                    model, LABELS[p], (s.error or "not run").replace(
                        "|", "/").replace("\n", " ")[:160]))
                continue
            lines.append("| %s | %s | %s | %s | %.1f%% | %s | %s |" % (
                model, LABELS[p], _ms(s.median()), _ms(s.minimum()),
                100 * s.spread(), " ".join(_ms(v) for v in s.medians),
                "%d-%d" % (min(s.iters), max(s.iters))
                if len(set(s.iters)) > 1 else str(s.iters[0])))
    return lines
