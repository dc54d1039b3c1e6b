// The interface of an optimisation pass: a named transformation of the IR
// graph that says whether it changed anything. Passes find what they need
// in the op table's hooks (isNoop, asEpilogue, channelAffine, ...), never by
// switching over op kinds.
#pragma once

#include "ir/graph.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// One pass.
class Pass {
public:
  virtual ~Pass() = default;
  /// The name used by --passes and the dump options.
  virtual const char *name() const = 0;
  /// One line for --help and the docs.
  virtual const char *description() const = 0;
  /// Transforms `g`; returns whether it changed the graph.
  virtual bool run(Graph &g) = 0;
};

/// Makes the pass `spec` names (`name`, or `name<key=value,...>` for a pass
/// with parameters), or nullptr; bad parameters are a user error.
std::unique_ptr<Pass> createPass(const std::string &spec);

/// Every pass name, in registry order.
std::vector<std::string> allPassNames();

/// The default optimisation pipeline (`-O1`, the default), in order.
std::vector<std::string> defaultPipeline();

/// The pipeline before code generation: the default one, then the
/// lowerings that depend on the target's micro-kernel ISA (`avx512`, ...):
/// pack-weights.
std::vector<std::string> codegenPipeline(const std::string &isa);

} // namespace kiln
