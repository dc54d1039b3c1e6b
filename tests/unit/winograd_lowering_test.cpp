// The Winograd lowering end to end on one conv: pack-weights chooses
// conv_winograd, the reference interpreter reads the transformed filters
// back (conv_winograd's evaluate), and the runtime kernel, called with the
// parameter struct and scratch size of the op's own lowering, matches the
// original conv's reference evaluation.
#include "ir/graph.h"
#include "ir/interpreter.h"
#include "ir/op_def.h"
#include "ir/op_registry.h"
#include "kernel_params.h"
#include "kiln/runtime.h"
#include "passes/pass.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

namespace kiln {
namespace {

using Ints = std::vector<int64_t>;

/// conv(x [1, c, h, w], 3x3, padding 1, ReLU) through pack-weights for
/// AVX-512; expects conv_winograd with output tile `tile`.
void checkLowering(int64_t c, int64_t h, int64_t w, int64_t tile) {
  std::mt19937 rng(7);
  Graph g;
  g.name = "t";
  Value *x = g.addInput("x", {1, c, h, w});
  Value *wt = g.addWeight("w", {c, c, 3, 3}, randomData(c * c * 9, rng));
  Value *b = g.addWeight("b", {c}, randomData(c, rng));
  Op *conv = g.addOp(getOp("conv"), {x, wt, b},
                     {{"stride", Ints{1, 1}},
                      {"padding", Ints{1, 1, 1, 1}},
                      {"dilation", Ints{1, 1}},
                      {"groups", int64_t(1)},
                      {"activation", std::string("relu")}},
                     {"test", "conv"}, "y");
  g.outputs.push_back({"y", conv->result()});
  auto xd = randomData(c * h * w, rng);
  const std::vector<float> ref = interpret(g, {*xd})[0];

  ASSERT_TRUE(createPass("pack-weights<isa=avx512>")->run(g));
  const Op *op = g.outputs[0].second->producer;
  ASSERT_STREQ(op->def->name, "conv_winograd");
  EXPECT_EQ(op->getInt("tile"), tile);
  // The interpreter reads the transformed filters back (g = L U L^T).
  EXPECT_LT(maxDiff(interpret(g, {*xd})[0], ref), 1e-4);

  std::vector<KernelCall> calls = op->def->lower(*op);
  ASSERT_EQ(calls.size(), 1u);
  const auto p = paramsOf<kiln_rt::ConvWinogradParams>(calls[0]);
  EXPECT_EQ(calls[0].kernel, "conv_winograd_mr" + std::to_string(p.mr));
  std::vector<float> scratch(size_t(calls[0].scratchBytes / 4));
  std::vector<float> y(ref.size(), NAN);
  const float *u = op->operand(1)->data->data();
  const float *bias = op->operand(2)->data->data();
  switch (p.mr) {
  case 4:
    kiln_rt::conv_winograd<4>(p, xd->data(), u, bias, nullptr, y.data(),
                              scratch.data());
    break;
  case 8:
    kiln_rt::conv_winograd<8>(p, xd->data(), u, bias, nullptr, y.data(),
                              scratch.data());
    break;
  case 12:
    kiln_rt::conv_winograd<12>(p, xd->data(), u, bias, nullptr, y.data(),
                               scratch.data());
    break;
  default:
    kiln_rt::conv_winograd<16>(p, xd->data(), u, bias, nullptr, y.data(),
                               scratch.data());
  }
  // Sums of 9 x c products of values in [-1, 1] through the transforms.
  EXPECT_LT(maxDiff(y, ref), 1e-3);
}

TEST(WinogradLowering, F4x4OnWideImage) { checkLowering(64, 48, 48, 4); }

TEST(WinogradLowering, F2x2OnNarrowImage) { checkLowering(128, 14, 14, 2); }

} // namespace
} // namespace kiln
