// Pass constant-fold: an op whose operands are all weights (constants) is
// evaluated at compile time with its reference evaluation; its result
// becomes a new weight.
#include "ir/op_def.h"
#include "passes/pass.h"

#include <memory>

namespace kiln {
namespace {

class ConstantFold : public Pass {
public:
  const char *name() const override { return "constant-fold"; }
  const char *description() const override {
    return "evaluate ops whose operands are all constants at compile time";
  }
  bool run(Graph &g) override {
    bool changed = false;
    for (size_t i = 0; i < g.ops.size();) {
      Op *op = g.ops[i].get();
      if (!foldable(*op)) {
        ++i;
        continue;
      }
      std::vector<const float *> in;
      for (Value *v : op->operands)
        in.push_back(v ? v->data->data() : nullptr);
      while (!in.empty() && !in.back())
        in.pop_back();
      auto data = std::make_shared<std::vector<float>>(
          size_t(op->result()->numElements()));
      op->def->evaluate(*op, in, {data->data()});
      Value *w = g.addWeight(op->result()->name, op->result()->shape, data);
      g.replaceAllUsesWith(op->result(), w);
      g.eraseOp(op);
      changed = true;
    }
    if (changed)
      g.removeUnusedWeights();
    return changed;
  }

private:
  static bool foldable(const Op &op) {
    if (op.results.size() != 1 || !op.def->evaluate ||
        op.result()->elemType != ElemType::F32 || op.operands.empty())
      return false;
    for (Value *v : op.operands)
      if (v && !v->isWeight())
        return false;
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createConstantFold() {
  return std::make_unique<ConstantFold>();
}

} // namespace kiln
