# lit configuration of Kiln's FileCheck tests. Run through ctest (test
# `lit`), which passes the paths of the tools as parameters.
import os

import lit.formats

config.name = "kiln"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".test", ".kir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = lit_config.params.get("exec_root", config.test_source_root)

kiln = lit_config.params["kiln"]
filecheck = lit_config.params.get("filecheck", "/usr/lib/llvm-16/bin/FileCheck")
not_tool = lit_config.params.get("not", "/usr/lib/llvm-16/bin/not")
source_dir = lit_config.params["source_dir"]

config.substitutions.append(("%kiln", kiln))
config.substitutions.append(("%FileCheck", filecheck))
config.substitutions.append(("%not", not_tool))
config.substitutions.append(("%examples", os.path.join(source_dir, "examples")))
config.environment["PATH"] = os.environ.get("PATH", "")
