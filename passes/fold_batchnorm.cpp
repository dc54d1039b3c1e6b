// Pass fold-batchnorm: an inference BatchNorm (a constant per-channel
// scale and shift) after a Conv, ConvTranspose or Linear whose only user it
// is folds into that op's weights and bias. Exact up to float rounding.
// Kept when the producer has other users, a fused activation or residual,
// or non-constant weights.
#include "passes/fusion_utils.h"
#include "passes/pass.h"

namespace kiln {
namespace {

class FoldBatchNorm : public Pass {
public:
  const char *name() const override { return "fold-batchnorm"; }
  const char *description() const override {
    return "fold inference BatchNorm into the preceding conv / linear";
  }
  bool run(Graph &g) override {
    bool changed = false;
    for (size_t i = 0; i < g.ops.size();) {
      Op *bn = g.ops[i].get();
      Op *p = bn->def->channelAffine ? soleProducer(g, bn->operand(0), bn)
                                     : nullptr;
      std::vector<double> scale, shift;
      if (!p || !p->def->foldChannelAffine || p->operand(3) ||
          !bn->def->channelAffine(*bn, scale, shift) ||
          !p->def->foldChannelAffine(*p, g, scale, shift)) {
        ++i;
        continue;
      }
      g.replaceAllUsesWith(bn->result(), p->result());
      g.eraseOp(bn);
      changed = true;
    }
    if (changed)
      g.removeUnusedWeights();
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createFoldBatchNorm() {
  return std::make_unique<FoldBatchNorm>();
}

} // namespace kiln
