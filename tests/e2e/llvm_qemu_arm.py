#!/usr/bin/python3
"""A freestanding 32-bit Arm program around a compiled model, to run a
bare-metal (Cortex-M) object under qemu-arm's Linux user mode: no C library
start-up, the inputs compiled in as constant arrays, `_start` calls NAME_run
and writes the outputs' raw float32 bytes, then NAME_run's status as the exit
code, through Linux system calls (svc 0).

usage:
  llvm_qemu_arm.py main HEADER MODEL_DIR OUT.cpp
      HEADER is the model's NAME.h; each input `kInputIName` is read from
      MODEL_DIR/input_<name>.npy (float32, the header's shape)
  llvm_qemu_arm.py split HEADER BYTES OUT_DIR
      writes OUT_DIR/<name>.npy for each output from the program's stdout
"""
import os
import re
import sys

import numpy as np


def tensors(header, kind):
    """[(name, shape)] of the header's inputs or outputs, in order."""
    text = open(header).read()
    out = []
    i = 0
    while True:
        m = re.search(r'k%s%dName = "([^"]*)"' % (kind, i), text)
        if not m:
            return out
        s = re.search(r"k%s%dShape\[\d+\] = \{([^}]*)\}" % (kind, i), text)
        shape = [int(v) for v in s.group(1).split(",")] if s else []
        out.append((m.group(1), shape))
        i += 1


def write_main(header, model_dir, out):
    name = os.path.basename(header)[:-2]
    lines = ["// Written by llvm_qemu_arm.py: %s run under qemu-arm." % name,
             '#include "%s.h"' % name,
             "alignas(64) static unsigned char arena[%s::kArenaBytes ? "
             "%s::kArenaBytes : 1];" % (name, name)]
    args = []
    for i, (n, shape) in enumerate(tensors(header, "Input")):
        x = np.load(os.path.join(model_dir, "input_%s.npy" % n))
        if list(x.shape) != shape or x.dtype != np.float32:
            sys.exit("input %s: %s %s, the header says float32 %s"
                     % (n, x.dtype, list(x.shape), shape))
        if not np.all(np.isfinite(x)):
            sys.exit("input %s: not finite values (not written as literals)"
                     % n)
        values = ",".join(np.format_float_scientific(v, unique=True) + "f"
                          for v in x.ravel())
        lines.append("static const float input%d[] = {%s};" % (i, values))
        args.append("input%d" % i)
    outputs = tensors(header, "Output")
    for i in range(len(outputs)):
        lines.append("static float output%d[%s::kOutput%dElements];"
                     % (i, name, i))
        args.append("output%d" % i)
    lines += [
        "static long sys3(long n, long a, long b, long c) {",
        '  register long r7 asm("r7") = n;',
        '  register long r0 asm("r0") = a;',
        '  register long r1 asm("r1") = b;',
        '  register long r2 asm("r2") = c;',
        '  asm volatile("svc #0" : "+r"(r0) : "r"(r7), "r"(r1), "r"(r2)'
        ' : "memory");',
        "  return r0;",
        "}",
        'extern "C" [[noreturn]] void _start() {',
        "  int rc = %s_run(%s, arena);" % (name, ", ".join(args)),
    ]
    for i in range(len(outputs)):
        lines.append("  sys3(4, 1, long(output%d), sizeof output%d);" % (i, i))
    lines += ["  sys3(1, rc, 0, 0);  // exit", "  for (;;) {", "  }", "}"]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


def split(header, data, out_dir):
    raw = np.fromfile(data, dtype="<f4")
    at = 0
    for n, shape in tensors(header, "Output"):
        count = int(np.prod(shape)) if shape else 1
        if at + count > raw.size:
            sys.exit("the program wrote %d floats, fewer than the outputs need"
                     % raw.size)
        np.save(os.path.join(out_dir, n + ".npy"),
                raw[at:at + count].reshape(shape))
        at += count
    if at != raw.size:
        sys.exit("the program wrote %d floats, the outputs have %d"
                 % (raw.size, at))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "main":
        write_main(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "split":
        split(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
