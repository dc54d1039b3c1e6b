// The pass manager.
#include "passes/pass_manager.h"

#include "ir/verifier.h"
#include "support/error.h"
#include "support/file_output.h"
#include "support/strings.h"

#include <cstdio>

namespace kiln {

PassManager::PassManager(const std::vector<std::string> &names,
                         PassInstrumentation instr)
    : instr_(std::move(instr)) {
  for (const std::string &n : names) {
    auto p = createPass(n);
    if (!p)
      throw Error("kiln", "--passes",
                  "unknown pass \"" + n + "\"" + didYouMean(n, allPassNames()) +
                      "; passes: " + joinQuoted(allPassNames()));
    passes_.push_back(std::move(p));
  }
  auto check = [&](const std::set<std::string> &s, const char *flag) {
    for (const std::string &n : s)
      if (!createPass(n))
        throw Error("kiln", flag,
                    "unknown pass \"" + n + "\"" +
                        didYouMean(n, allPassNames()));
  };
  check(instr_.printBefore, "--print-ir-before");
  check(instr_.printAfter, "--print-ir-after");
}

void PassManager::dump(const Graph &g, const std::string &banner,
                       const std::string &tag) {
  std::string text =
      "// -----// " + banner + " //----- //\n" + printGraph(g, instr_.print);
  if (instr_.dumpDir.empty()) {
    std::fputs(text.c_str(), stderr);
    return;
  }
  char num[16];
  std::snprintf(num, sizeof num, "%02d", dumpCount_++);
  writeFiles(instr_.dumpDir, {{std::string(num) + "-" + tag + ".kir", text}});
}

bool PassManager::run(Graph &g) {
  bool any = false;
  for (auto &p : passes_) {
    std::string name = p->name();
    if (instr_.printBefore.count(name))
      dump(g, "IR Dump Before " + name, "before-" + name);
    std::string before = instr_.printAfterChange ? printGraph(g) : "";
    bool changed = p->run(g);
    any |= changed;
    if (instr_.verifyEach) {
      try {
        verifyGraph(g);
      } catch (const Error &e) {
        throw Error(e.file(), e.location(),
                    "after pass " + name + ": " + e.message());
      }
    }
    bool changedText = instr_.printAfterChange && printGraph(g) != before;
    if (instr_.printAfterAll || instr_.printAfter.count(name) || changedText)
      dump(g, "IR Dump After " + name + (changed ? "" : " (no change)"),
           "after-" + name);
  }
  return any;
}

} // namespace kiln
