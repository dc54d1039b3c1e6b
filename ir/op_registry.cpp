// The table of all op kinds. Adding an op: define its OpDef in ir/ops/ and
// list it here; passes and backends find it through this table.
#include "ir/op_registry.h"

#include "support/error.h"

#include <string>

namespace kiln {
namespace ops {
extern const OpDef kConvOp, kConvGemmOp, kConvWinogradOp, kConvTransposeGemmOp,
    kConvTransposePhasesOp, kConvTransposeOp, kMaxPoolOp, kAvgPoolOp, kLinearOp,
    kReluOp, kRelu6Op, kSigmoidOp, kTanhOp, kLeakyReluOp, kHardtanhOp, kEluOp,
    kPreluOp, kBatchNormOp, kReshapeOp, kPadOp, kMaxPoolIndicesOp, kMaxUnpoolOp,
    kAdaptiveAvgPoolOp, kAdaptiveMaxPoolOp, kAdaptiveMaxPoolIndicesOp,
    kSoftmaxOp, kLogSoftmaxOp, kLocalResponseNormOp, kBatchNormBatchStatsOp,
    kAddOp, kSubOp, kMulOp, kDivOp, kSumOp, kMeanOp, kCatOp, kIdentityOp,
    kIndicesToFloatOp, kSiluOp, kHardswishOp, kHardsigmoidOp, kGeluOp,
    kGeluTanhOp, kSoftplusOp, kTransposeOp, kSliceOp, kMatmulOp;
extern const OpDef kLayerNormOp, kGroupNormOp, kUpsampleNearestOp,
    kUpsampleBilinearOp;
} // namespace ops

const std::vector<const OpDef *> &allOps() {
  static const std::vector<const OpDef *> table = {
      &ops::kConvOp,
      &ops::kConvTransposeOp,
      &ops::kConvGemmOp,
      &ops::kConvWinogradOp,
      &ops::kConvTransposeGemmOp,
      &ops::kConvTransposePhasesOp,
      &ops::kMaxPoolOp,
      &ops::kAvgPoolOp,
      &ops::kLinearOp,
      &ops::kReluOp,
      &ops::kRelu6Op,
      &ops::kSigmoidOp,
      &ops::kTanhOp,
      &ops::kLeakyReluOp,
      &ops::kHardtanhOp,
      &ops::kEluOp,
      &ops::kPreluOp,
      &ops::kBatchNormOp,
      &ops::kReshapeOp,
      &ops::kPadOp,
      &ops::kMaxPoolIndicesOp,
      &ops::kMaxUnpoolOp,
      &ops::kAdaptiveAvgPoolOp,
      &ops::kAdaptiveMaxPoolOp,
      &ops::kAdaptiveMaxPoolIndicesOp,
      &ops::kSoftmaxOp,
      &ops::kLogSoftmaxOp,
      &ops::kLocalResponseNormOp,
      &ops::kBatchNormBatchStatsOp,
      &ops::kAddOp,
      &ops::kSubOp,
      &ops::kMulOp,
      &ops::kDivOp,
      &ops::kSumOp,
      &ops::kMeanOp,
      &ops::kCatOp,
      &ops::kIdentityOp,
      &ops::kIndicesToFloatOp,
      &ops::kSiluOp,
      &ops::kHardswishOp,
      &ops::kHardsigmoidOp,
      &ops::kGeluOp,
      &ops::kGeluTanhOp,
      &ops::kSoftplusOp,
      &ops::kTransposeOp,
      &ops::kSliceOp,
      &ops::kMatmulOp,
      &ops::kLayerNormOp,
      &ops::kGroupNormOp,
      &ops::kUpsampleNearestOp,
      &ops::kUpsampleBilinearOp,
  };
  return table;
}

const OpDef *findOp(std::string_view name) {
  for (const OpDef *d : allOps())
    if (name == d->name)
      return d;
  return nullptr;
}

const OpDef &getOp(std::string_view name) {
  const OpDef *d = findOp(name);
  KILN_ASSERT(d, "no op named " + std::string(name));
  return *d;
}

} // namespace kiln
