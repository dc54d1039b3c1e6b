// `kiln --version`: Kiln's version, the LLVM it is built with, and the host
// target.
#include "tools/kiln/commands.h"

#include <fmt/core.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/TargetParser/Host.h>

namespace kiln::commands {

int version() {
  fmt::print("kiln {}\nLLVM {}\nhost target {}\n", KILN_VERSION,
             LLVM_VERSION_STRING, llvm::sys::getDefaultTargetTriple());
  return 0;
}

} // namespace kiln::commands
