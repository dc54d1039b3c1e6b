"""Code shared by the examples (examples/README.md): ``zoo`` (export, build,
run, compare, time) and ``reference`` (an export against a reference model
JSON). Importing the package puts tools/kiln_export on sys.path."""

import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
    __file__)), "..", ".."))
_EXPORTER = os.path.join(ROOT, "tools", "kiln_export")
if _EXPORTER not in sys.path:
    sys.path.insert(0, _EXPORTER)
