// The transposed-conv lowerings end to end on one layer: pack-weights picks
// conv_transpose_phases (taps as rows) for an input of two tile strips or
// more on a vector ISA and conv_transpose_gemm (positions as rows) for a
// smaller one; the reference interpreter reads each packed layout back, and
// the runtime kernel, called with the parameter struct and scratch size of
// the op's own lowering, matches the original op's reference evaluation.
#include "ir/graph.h"
#include "ir/interpreter.h"
#include "ir/op_def.h"
#include "ir/op_registry.h"
#include "kernel_params.h"
#include "kiln/runtime.h"
#include "passes/pass.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace kiln {
namespace {

using Ints = std::vector<int64_t>;

/// Runs KERNEL<MR> for the lowered call's block height.
template <typename F> void withMr(int mr, F f) {
  switch (mr) {
  case 4:
    return f(std::integral_constant<int, 4>());
  case 6:
    return f(std::integral_constant<int, 6>());
  case 8:
    return f(std::integral_constant<int, 8>());
  case 12:
    return f(std::integral_constant<int, 12>());
  default:
    return f(std::integral_constant<int, 16>());
  }
}

/// conv_transpose(x [1, cin, h, w], 4x4, stride 2, padding 1, groups,
/// residual, ReLU) through pack-weights<isa=avx512>; expects op `lowered`.
void checkLowering(int64_t cin, int64_t cout, int64_t groups, int64_t h,
                   int64_t w, const char *lowered) {
  std::mt19937 rng(11);
  Graph g;
  g.name = "t";
  const int64_t oh = 2 * h, ow = 2 * w;
  Value *x = g.addInput("x", {1, cin, h, w});
  Value *r = g.addInput("r", {1, cout, oh, ow});
  Value *wt = g.addWeight("w", {cin, cout / groups, 4, 4},
                          randomData(cin * cout / groups * 16, rng));
  Value *b = g.addWeight("b", {cout}, randomData(cout, rng));
  Op *op = g.addOp(getOp("conv_transpose"), {x, wt, b, r},
                   {{"stride", Ints{2, 2}},
                    {"padding", Ints{1, 1}},
                    {"output_padding", Ints{0, 0}},
                    {"dilation", Ints{1, 1}},
                    {"groups", groups},
                    {"activation", std::string("relu")}},
                   {"test", "conv_transpose"}, "y");
  g.outputs.push_back({"y", op->result()});
  auto xd = randomData(cin * h * w, rng);
  auto rd = randomData(cout * oh * ow, rng);
  const std::vector<float> ref = interpret(g, {*xd, *rd})[0];

  ASSERT_TRUE(createPass("pack-weights<isa=avx512>")->run(g));
  const Op *packed = g.outputs[0].second->producer;
  ASSERT_STREQ(packed->def->name, lowered);
  // Sums of 4 x cin / groups products of values in [-1, 1], plus 2 terms.
  const double tol = 1e-5 * double(cin / groups + 2);
  EXPECT_LT(maxDiff(interpret(g, {*xd, *rd})[0], ref), tol);

  std::vector<KernelCall> calls = packed->def->lower(*packed);
  ASSERT_EQ(calls.size(), 1u);
  const auto p = paramsOf<kiln_rt::ConvTransposeGemmParams>(calls[0]);
  EXPECT_EQ(calls[0].kernel,
            std::string(lowered) + "_mr" + std::to_string(p.mr));
  std::vector<float> scratch(size_t(calls[0].scratchBytes / 4), NAN);
  std::vector<float> y(ref.size(), NAN);
  const float *pw = packed->operand(1)->data->data();
  const float *bias = packed->operand(2)->data->data();
  const bool phases = std::string(lowered) == "conv_transpose_phases";
  withMr(p.mr, [&](auto mr) {
    if (phases)
      kiln_rt::conv_transpose_phases<mr>(p, xd->data(), pw, bias, rd->data(),
                                         y.data(), scratch.data());
    else
      kiln_rt::conv_transpose_gemm<mr>(p, xd->data(), pw, bias, rd->data(),
                                       y.data(), scratch.data());
  });
  EXPECT_LT(maxDiff(y, ref), tol);
}

TEST(ConvTransposeLowering, PhasesOnWideInput) {
  checkLowering(48, 24, 1, 12, 10, "conv_transpose_phases");
}

TEST(ConvTransposeLowering, PhasesWithGroups) {
  checkLowering(12, 6, 3, 9, 9, "conv_transpose_phases");
}

TEST(ConvTransposeLowering, GemmOnFewPositions) {
  checkLowering(64, 32, 1, 4, 4, "conv_transpose_gemm");
}

} // namespace
} // namespace kiln
