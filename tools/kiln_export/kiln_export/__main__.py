"""``python3 -m kiln_export MODULE_SPEC --input x:1,3,224,224 -o OUTDIR``:
see ``kiln_export.trace.main``."""

import sys

from .trace import main

sys.exit(main())
