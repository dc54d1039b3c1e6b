// Pass dce: removes ops whose results nobody uses (and that are not model
// outputs), then weights no op uses.
#include "passes/pass.h"

namespace kiln {
namespace {

class DeadCode : public Pass {
public:
  const char *name() const override { return "dce"; }
  const char *description() const override {
    return "remove ops whose results are unused, and unused weights";
  }
  bool run(Graph &g) override {
    size_t ops = g.removeDeadOps();
    size_t weights = g.removeUnusedWeights();
    return ops + weights > 0;
  }
};

} // namespace

std::unique_ptr<Pass> createDeadCode() { return std::make_unique<DeadCode>(); }

} // namespace kiln
