// Runs a pipeline of passes with the instrumentation of LLVM's `opt`: IR
// dumps before or after chosen passes (to stderr or numbered files) and the
// verifier after each pass.
#pragma once

#include "ir/printer.h"
#include "passes/pass.h"

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace kiln {

/// What to print and check while the pipeline runs.
struct PassInstrumentation {
  std::set<std::string> printBefore, printAfter;
  bool printAfterAll = false;
  bool printAfterChange = false;
  /// Run the IR verifier after every pass; a failure names the pass.
  bool verifyEach = false;
  /// Write dumps as DIR/NN-after-NAME.kir instead of stderr.
  std::string dumpDir;
  PrintOptions print;
};

/// A pipeline of passes.
class PassManager {
public:
  /// Makes the passes of `names`; an unknown name is a user error listing
  /// the known ones.
  PassManager(const std::vector<std::string> &names,
              PassInstrumentation instr = {});

  /// Runs the pipeline on `g`; returns whether any pass changed it.
  bool run(Graph &g);

private:
  void dump(const Graph &g, const std::string &banner, const std::string &tag);

  std::vector<std::unique_ptr<Pass>> passes_;
  PassInstrumentation instr_;
  int dumpCount_ = 0;
};

} // namespace kiln
