// Loading a model and running the optimisation pipeline the command line
// asks for; `kiln --list-passes`.
#include "frontend/model_loader.h"
#include "passes/pass_manager.h"
#include "tools/kiln/commands.h"
#include "tools/kiln/huge_pages.h"

#include <cstdio>
#include <filesystem>

namespace kiln::commands {

std::string microKernelIsa(const cli::Options &o) {
  LlvmOptions lo = llvmOptions(o);
  // The C++ backend takes no --target: a Cortex-M CPU names its own (the
  // micro-kernel ISA is then the FPU's one lane, `scalar`).
  if (lo.triple.empty() && lo.cpu.rfind("cortex-m", 0) == 0)
    lo.triple = "thumbv7em-none-eabihf";
  return kiln::microKernelIsa(lo);
}

std::vector<std::string> pipeline(const cli::Options &o,
                                  bool optimizeByDefault) {
  if (o.passes)
    return *o.passes;
  if (o.optLevel > 0 || (o.optLevel < 0 && optimizeByDefault))
    return o.command == "compile" || o.command == "build"
               ? codegenPipeline(microKernelIsa(o))
               : defaultPipeline();
  return {};
}

void optimize(Graph &g, const cli::Options &o, bool optimizeByDefault) {
  PassManager(pipeline(o, optimizeByDefault), o.instr).run(g);
}

std::unique_ptr<Graph> load(const cli::Options &o, bool optimizeByDefault) {
  std::vector<std::string> warnings;
  LoadOptions lo = o.load;
  // Executing again reads the model JSON again: only from a regular file.
  if (std::filesystem::is_regular_file(o.model))
    lo.beforeReadingWeights = useHugePagesFor;
  auto g = loadModel(o.model, lo, &warnings);
  for (const auto &w : warnings)
    std::fprintf(stderr, "kiln: warning: %s\n", w.c_str());
  optimize(*g, o, optimizeByDefault);
  return g;
}

LlvmOptions llvmOptions(const cli::Options &o) {
  LlvmOptions lo;
  if (o.emit == "llvm")
    lo.emit = LlvmEmit::IR;
  else if (o.emit == "bc")
    lo.emit = LlvmEmit::Bitcode;
  else if (o.emit == "asm")
    lo.emit = LlvmEmit::Assembly;
  else
    lo.emit = LlvmEmit::Object;
  lo.triple = o.target;
  lo.cpu = o.cpu;
  lo.features = o.features;
  lo.optLevel = o.optLevel < 0 ? 2 : o.optLevel;
  lo.sizeLevel = o.sizeLevel;
  lo.weightsSection = o.weightsSection;
  lo.sourceName = std::filesystem::path(o.model).filename().string();
  return lo;
}

int listPasses() {
  std::printf("passes:\n");
  for (const std::string &n : allPassNames())
    std::printf("  %-18s %s\n", n.c_str(), createPass(n)->description());
  std::printf("default pipeline (-O1):\n ");
  for (const std::string &n : defaultPipeline())
    std::printf(" %s", n.c_str());
  std::printf("\n");
  return 0;
}

} // namespace kiln::commands
