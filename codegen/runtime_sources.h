// The runtime headers, embedded in the compiler at build time so that
// generated folders are self-contained wherever `kiln` is installed.
#pragma once

#include "codegen/generated_files.h"

namespace kiln {

/// Every runtime header, with paths like `kiln/runtime.h`.
const GeneratedFiles &runtimeSources();

} // namespace kiln
