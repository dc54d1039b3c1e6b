// Pass fuse-activation: an activation (ReLU, ReLU6, LeakyReLU, RReLU in
// eval, Hardtanh, Sigmoid, Tanh, ELU, one-parameter PReLU) applied to the
// result of a Conv, ConvTranspose or Linear that has no other user becomes
// that op's epilogue: one loop nest computes the output and activates it.
// An activation after anything else (a pooling, an add) stays where it is.
#include "passes/fusion_utils.h"
#include "passes/pass.h"

namespace kiln {
namespace {

class FuseActivation : public Pass {
public:
  const char *name() const override { return "fuse-activation"; }
  const char *description() const override {
    return "fuse an activation into the conv / linear producing its input";
  }
  bool run(Graph &g) override {
    bool changed = false;
    for (size_t i = 0; i < g.ops.size();) {
      Op *act = g.ops[i].get();
      std::string kind;
      double a = 0, b = 0;
      Op *p = act->def->asEpilogue ? soleProducer(g, act->operand(0), act)
                                   : nullptr;
      if (!p || !p->def->fusableEpilogue ||
          !act->def->asEpilogue(*act, kind, a, b)) {
        ++i;
        continue;
      }
      p->attrs["activation"] = kind;
      if (a != 0)
        p->attrs["act_a"] = a;
      if (b != 0)
        p->attrs["act_b"] = b;
      g.replaceAllUsesWith(act->result(), p->result());
      g.eraseOp(act);
      changed = true;
    }
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createFuseActivation() {
  return std::make_unique<FuseActivation>();
}

} // namespace kiln
