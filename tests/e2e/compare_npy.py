#!/usr/bin/python3
"""Compares two .npy files: shapes must match and the largest absolute
difference must be within RTOL times the largest magnitude of the expected
array (float32 accumulation order differs between implementations)."""
import argparse
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("expected")
    p.add_argument("actual")
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--label", default="")
    a = p.parse_args()
    e = np.load(a.expected)
    x = np.load(a.actual)
    tag = f"{a.label}: " if a.label else ""
    if e.shape != x.shape:
        print(f"{tag}FAIL shape {x.shape} != expected {e.shape}")
        return 1
    nan_ok = np.array_equal(np.isnan(e), np.isnan(x))
    finite = ~np.isnan(e)
    ef, xf = e[finite].astype(np.float64), x[finite].astype(np.float64)
    scale = float(np.max(np.abs(ef))) if ef.size else 0.0
    err = float(np.max(np.abs(ef - xf))) if ef.size else 0.0
    rel = err / scale if scale > 0 else err
    ok = nan_ok and rel <= a.rtol
    status = "ok" if ok else "FAIL"
    print(f"{tag}{status} max abs err {err:.3g}, relative to max |expected| "
          f"{rel:.3g} (tolerance {a.rtol:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
