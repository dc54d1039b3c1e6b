// The runtime headers, embedded in the compiler at build time so that
// generated folders are self-contained wherever `kiln` is installed.
#pragma once

#include "support/file_output.h"

namespace kiln {

/// Every runtime header, with paths like `kiln/runtime.h`.
const GeneratedFiles &runtimeSources();

} // namespace kiln
