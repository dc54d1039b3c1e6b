// Pass fuse-residual-add: `add(conv(x), r)` where the conv (or linear, conv
// transpose) has no other user becomes the conv with `r` as its residual
// operand, added to each output as it is produced (ResNet's
// `bn(conv(x)) + identity` once BatchNorm is folded). The producer moves to
// the add's place so that `r` is computed before it.
#include "passes/fusion_utils.h"
#include "passes/pass.h"

namespace kiln {
namespace {

class FuseResidualAdd : public Pass {
public:
  const char *name() const override { return "fuse-residual-add"; }
  const char *description() const override {
    return "fold a residual add into the conv / linear producing one operand";
  }
  bool run(Graph &g) override {
    bool changed = false;
    for (size_t i = 0; i < g.ops.size();) {
      Op *add = g.ops[i].get();
      if (!add->def->isResidualAdd || !add->def->isResidualAdd(*add) ||
          !fuse(g, add)) {
        ++i;
        continue;
      }
      changed = true;
    }
    return changed;
  }

private:
  static bool fuse(Graph &g, Op *add) {
    for (int side = 0; side < 2; ++side) {
      Value *mine = add->operand(size_t(side));
      Value *other = add->operand(size_t(1 - side));
      Op *p = soleProducer(g, mine, add);
      // The residual slot follows the bias: a bias-less producer keeps its
      // add (after BatchNorm folding, convs have a bias).
      if (!p || !p->def->fusableEpilogue || !p->operand(2) || p->operand(3) ||
          other == mine)
        continue;
      p->operands.resize(4, nullptr);
      p->operands[3] = other;
      g.moveBefore(p, add);
      g.replaceAllUsesWith(add->result(), p->result());
      g.eraseOp(add);
      return true;
    }
    return false;
  }
};

} // namespace

std::unique_ptr<Pass> createFuseResidualAdd() {
  return std::make_unique<FuseResidualAdd>();
}

} // namespace kiln
