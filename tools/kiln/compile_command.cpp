// `kiln compile`: a model to a standalone C++ folder, or its textual IR.
#include "codegen/cpp_backend.h"
#include "codegen/llvm_backend.h"
#include "ir/dot_printer.h"
#include "ir/printer.h"
#include "tools/kiln/commands.h"

#include <cstdio>
#include <filesystem>

namespace kiln::commands {

int compile(const cli::Options &o) {
  std::unique_ptr<Graph> g = load(o, true);
  if (o.emit == "ir" || o.emit == "dot") {
    std::string text =
        o.emit == "ir" ? printGraph(*g, {o.printLocations}) : printDot(*g);
    if (o.output.empty()) {
      std::fputs(text.c_str(), stdout);
      return 0;
    }
    writeFiles(".", {{o.output, text}});
    return 0;
  }
  if (cli::usesLlvm(o)) {
    writeFiles(o.output, generateLlvm(*g, llvmOptions(o)));
    return 0;
  }
  CppOptions co;
  co.embed = o.embed;
  co.sourceName = std::filesystem::path(o.model).filename().string();
  co.weightsSection = o.weightsSection;
  co.isa = microKernelIsa(o);
  writeFiles(o.output, generateCpp(*g, co));
  return 0;
}

} // namespace kiln::commands
