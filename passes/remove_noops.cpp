// Pass remove-noops: drops ops that compute nothing at inference (Identity,
// Dropout, a reshape to the same shape, a pad of nothing, x * 1, ...: the
// op table's isNoop hook) and collapses chains of views (a reshape of a
// reshape reads the original tensor).
#include "ir/op_def.h"
#include "passes/pass.h"

namespace kiln {
namespace {

class RemoveNoops : public Pass {
public:
  const char *name() const override { return "remove-noops"; }
  const char *description() const override {
    return "drop ops that compute nothing (Identity, Dropout, same-shape "
           "reshapes, x * 1, ...) and collapse chains of views";
  }
  bool run(Graph &g) override {
    bool changed = false;
    for (size_t i = 0; i < g.ops.size();) {
      Op *op = g.ops[i].get();
      if (op->def->isNoop && op->results.size() == 1 && op->def->isNoop(*op) &&
          op->operand(0)->elemType == op->result()->elemType) {
        g.replaceAllUsesWith(op->result(), op->operand(0));
        g.eraseOp(op);
        changed = true;
        continue;
      }
      // view(view(x)) -> view(x): views only need the element count.
      Value *in = op->operand(0);
      if (op->def->isView && in && in->producer && in->producer->def->isView) {
        op->operands[0] = in->producer->operand(0);
        changed = true;
        continue; // look at the same op again
      }
      ++i;
    }
    if (changed)
      g.removeDeadOps();
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createRemoveNoops() {
  return std::make_unique<RemoveNoops>();
}

} // namespace kiln
