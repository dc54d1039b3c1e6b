#!/usr/bin/env bash
# Every example's run.sh is a link to this file: it runs the model.py beside
# the link with Debian's Python (torch, numpy), passing the arguments on
# (--kiln PATH, --work DIR, --seed N, --bench N, --summary FILE; --help).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec "${KILN_PYTHON:-/usr/bin/python3}" "$here/model.py" "$@"
