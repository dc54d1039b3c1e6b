// Each runtime kernel against its op's reference evaluation, on seeded
// random data, over the arguments that change the loops (stride, padding,
// dilation, groups, ceil_mode, ...). The kernel parameters come from the
// op's own lowering hook, so the test also pins the struct layout the
// backends rely on (every field a 4-byte int or float).
#include "ir/graph.h"
#include "ir/interpreter.h"
#include "ir/op_def.h"
#include "ir/op_registry.h"
#include "kernel_params.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>

namespace kiln {
namespace {

/// Runs the runtime kernel of `op` on the same data the interpreter used.
std::vector<float> runKernel(const Op &op,
                             const std::vector<const float *> &in) {
  std::vector<KernelCall> calls = op.def->lower(op);
  EXPECT_EQ(calls.size(), 1u);
  const KernelCall &kc = calls[0];
  std::vector<float> y(size_t(op.result()->numElements()), NAN);
  auto arg = [&](size_t i) { return i < in.size() ? in[i] : nullptr; };
  if (kc.kernel == "conv")
    kiln_rt::conv(paramsOf<kiln_rt::ConvParams>(kc), arg(0), arg(1), arg(2),
                  arg(3), y.data());
  else if (kc.kernel == "depthwise_conv")
    kiln_rt::depthwise_conv(paramsOf<kiln_rt::ConvParams>(kc), arg(0), arg(1),
                            arg(2), arg(3), y.data());
  else if (kc.kernel == "conv_transpose")
    kiln_rt::conv_transpose(paramsOf<kiln_rt::ConvParams>(kc), arg(0), arg(1),
                            arg(2), arg(3), y.data());
  else if (kc.kernel == "max_pool")
    kiln_rt::max_pool(paramsOf<kiln_rt::PoolParams>(kc), arg(0), y.data(),
                      nullptr);
  else if (kc.kernel == "avg_pool")
    kiln_rt::avg_pool(paramsOf<kiln_rt::PoolParams>(kc), arg(0), y.data());
  else if (kc.kernel == "linear")
    kiln_rt::linear(paramsOf<kiln_rt::LinearParams>(kc), arg(0), arg(1), arg(2),
                    arg(3), y.data());
  else if (kc.kernel == "unary")
    kiln_rt::unary(paramsOf<kiln_rt::UnaryParams>(kc), arg(0), y.data());
  else if (kc.kernel == "prelu")
    kiln_rt::prelu(paramsOf<kiln_rt::ChannelParams>(kc), arg(0), arg(1),
                   y.data());
  else if (kc.kernel == "batch_norm")
    kiln_rt::batch_norm(paramsOf<kiln_rt::ChannelParams>(kc), arg(0), arg(1),
                        arg(2), arg(3), arg(4), y.data());
  else if (kc.kernel == "transpose")
    kiln_rt::transpose(paramsOf<kiln_rt::TransposeParams>(kc), arg(0),
                       y.data());
  else if (kc.kernel == "slice_range")
    kiln_rt::slice_range(paramsOf<kiln_rt::SliceRangeParams>(kc), arg(0),
                         y.data());
  else if (kc.kernel == "matmul")
    kiln_rt::matmul(paramsOf<kiln_rt::MatmulParams>(kc), arg(0), arg(1),
                    y.data());
  else if (kc.kernel == "row_norm")
    kiln_rt::row_norm(paramsOf<kiln_rt::RowNormParams>(kc), arg(0), arg(1),
                      arg(2), y.data());
  else if (kc.kernel == "upsample_nearest")
    kiln_rt::upsample_nearest(paramsOf<kiln_rt::UpsampleNearestParams>(kc),
                              arg(0), y.data());
  else if (kc.kernel == "upsample_bilinear")
    kiln_rt::upsample_bilinear(paramsOf<kiln_rt::UpsampleBilinearParams>(kc),
                               arg(0), y.data());
  else
    ADD_FAILURE() << "no kernel dispatch for " << kc.kernel;
  return y;
}

/// Builds a one-op graph (input `x`, weights of `weightShapes`), runs the
/// interpreter and the kernel, and compares them.
void check(const char *opName, const Shape &x,
           const std::vector<Shape> &weightShapes, AttrMap attrs,
           bool positiveWeight2 = false) {
  std::mt19937 rng(1234);
  Graph g;
  g.name = "t";
  Value *in = g.addInput("x", x);
  std::vector<Value *> operands = {in};
  for (size_t i = 0; i < weightShapes.size(); ++i) {
    auto d = randomData(numElements(weightShapes[i]), rng);
    if (positiveWeight2 && i == 1)
      for (float &v : *d)
        v = std::fabs(v) + 0.1f; // a variance
    operands.push_back(
        g.addWeight("w" + std::to_string(i), weightShapes[i], d));
  }
  Op *op = g.addOp(getOp(opName), operands, attrs, {"test", opName}, "y");
  g.outputs.push_back({"y", op->result()});
  auto xd = randomData(numElements(x), rng);
  std::vector<float> ref = interpret(g, {*xd})[0];
  std::vector<const float *> ptrs = {xd->data()};
  for (size_t i = 1; i < operands.size(); ++i)
    ptrs.push_back(operands[i]->data->data());
  std::vector<float> got = runKernel(*op, ptrs);
  ASSERT_EQ(got.size(), ref.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << "element " << i << " not written";
    worst = std::max(worst, std::fabs(double(got[i]) - ref[i]));
  }
  // Sums of at most a few hundred products of values in [-1, 1]: float32
  // accumulation error stays far below 1e-4.
  EXPECT_LT(worst, 1e-4) << opName << " on " << shapeToString(x);
}

using Ints = std::vector<int64_t>;

TEST(KernelReference, Conv2dPlain) {
  check("conv", {1, 3, 9, 9}, {{4, 3, 3, 3}, {4}},
        {{"stride", Ints{1, 1}},
         {"padding", Ints{0, 0, 0, 0}},
         {"dilation", Ints{1, 1}},
         {"groups", int64_t(1)}});
}

TEST(KernelReference, Conv2dStridePaddingDilationGroups) {
  check("conv", {2, 4, 11, 10}, {{6, 2, 3, 2}, {6}},
        {{"stride", Ints{2, 3}},
         {"padding", Ints{1, 2, 2, 1}},
         {"dilation", Ints{2, 1}},
         {"groups", int64_t(2)}});
}

TEST(KernelReference, Conv2dDepthwiseNoBias) {
  check("conv", {1, 5, 7, 7}, {{5, 1, 3, 3}},
        {{"stride", Ints{1, 1}},
         {"padding", Ints{1, 1, 1, 1}},
         {"dilation", Ints{1, 1}},
         {"groups", int64_t(5)}});
}

TEST(KernelReference, Conv1dAndConv3d) {
  check("conv", {2, 3, 17}, {{4, 3, 5}, {4}},
        {{"stride", Ints{2}},
         {"padding", Ints{2, 2}},
         {"dilation", Ints{2}},
         {"groups", int64_t(1)}});
  check("conv", {1, 2, 5, 6, 7}, {{3, 2, 3, 2, 3}, {3}},
        {{"stride", Ints{1, 2, 1}},
         {"padding", Ints{1, 0, 1, 1, 0, 1}},
         {"dilation", Ints{1, 1, 2}},
         {"groups", int64_t(1)}});
}

TEST(KernelReference, ConvTranspose2d) {
  check("conv_transpose", {2, 4, 5, 6}, {{4, 3, 3, 4}, {6}},
        {{"stride", Ints{2, 3}},
         {"padding", Ints{1, 2}},
         {"output_padding", Ints{1, 0}},
         {"dilation", Ints{1, 2}},
         {"groups", int64_t(2)}});
}

TEST(KernelReference, ConvTranspose1dAnd3d) {
  check("conv_transpose", {1, 3, 7}, {{3, 2, 4}},
        {{"stride", Ints{3}},
         {"padding", Ints{1}},
         {"output_padding", Ints{2}},
         {"dilation", Ints{1}},
         {"groups", int64_t(1)}});
  check("conv_transpose", {1, 2, 3, 4, 3}, {{2, 2, 2, 3, 2}, {2}},
        {{"stride", Ints{2, 1, 2}},
         {"padding", Ints{0, 1, 0}},
         {"output_padding", Ints{1, 0, 0}},
         {"dilation", Ints{1, 1, 1}},
         {"groups", int64_t(1)}});
}

TEST(KernelReference, MaxPoolCeilModePaddingDilation) {
  check("max_pool", {2, 3, 10, 9}, {},
        {{"kernel", Ints{3, 2}},
         {"stride", Ints{2, 2}},
         {"padding", Ints{1, 1}},
         {"dilation", Ints{2, 1}},
         {"ceil_mode", true}});
  check("max_pool", {1, 2, 13}, {},
        {{"kernel", Ints{4}},
         {"stride", Ints{3}},
         {"padding", Ints{2}},
         {"dilation", Ints{1}},
         {"ceil_mode", true}});
}

TEST(KernelReference, AvgPoolDivisorRules) {
  for (bool include : {false, true})
    check("avg_pool", {1, 2, 7, 8}, {},
          {{"kernel", Ints{3, 3}},
           {"stride", Ints{2, 2}},
           {"padding", Ints{1, 1}},
           {"ceil_mode", true},
           {"count_include_pad", include},
           {"divisor_override", int64_t(0)}});
  check("avg_pool", {1, 2, 4, 5, 6}, {},
        {{"kernel", Ints{2, 2, 3}},
         {"stride", Ints{1, 2, 2}},
         {"padding", Ints{1, 0, 1}},
         {"ceil_mode", false},
         {"count_include_pad", true},
         {"divisor_override", int64_t(5)}});
}

TEST(KernelReference, LinearAnyRank) {
  check("linear", {2, 3, 37}, {{5, 37}, {5}}, {});
  check("linear", {17}, {{4, 17}}, {});
}

TEST(KernelReference, Activations) {
  check("relu", {3, 7}, {}, {});
  check("relu6", {3, 7}, {}, {});
  check("sigmoid", {3, 7}, {}, {});
  check("tanh", {3, 7}, {}, {});
  check("leaky_relu", {3, 7}, {}, {{"negative_slope", 0.2}});
  check("hardtanh", {3, 7}, {}, {{"min_val", -0.5}, {"max_val", 0.25}});
  check("elu", {3, 7}, {}, {{"alpha", 1.5}});
  check("silu", {3, 7}, {}, {});
  check("hardswish", {3, 7}, {}, {});
  check("hardsigmoid", {3, 7}, {}, {});
  check("gelu", {3, 7}, {}, {});
  check("gelu_tanh", {3, 7}, {}, {});
  check("softplus", {3, 7}, {}, {{"beta", 2.0}, {"threshold", 0.5}});
}

TEST(KernelReference, PreluSharedAndPerChannel) {
  check("prelu", {2, 3, 4, 5}, {{1}}, {});
  check("prelu", {2, 3, 4, 5}, {{3}}, {});
}

TEST(KernelReference, BatchNormAffineAndNot) {
  check("batch_norm", {2, 3, 4, 5}, {{3}, {3}, {3}, {3}}, {{"eps", 1e-5}},
        true);
  check("batch_norm", {4, 6}, {{6}, {6}}, {{"eps", 1e-3}}, true);
}

TEST(KernelReference, TransposeEveryPermutation) {
  // Every permutation of a rank-4 shape (merged and unmerged neighbours),
  // size-1 dims that the lowering drops, rank 6, 0-d and 1-d.
  Ints perm = {0, 1, 2, 3};
  do {
    check("transpose", {2, 3, 4, 5}, {}, {{"perm", perm}});
    check("transpose", {3, 1, 4, 2}, {}, {{"perm", perm}});
  } while (std::next_permutation(perm.begin(), perm.end()));
  check("transpose", {2, 1, 3, 2, 1, 4}, {},
        {{"perm", Ints{5, 3, 0, 4, 2, 1}}});
  check("transpose", {2, 2, 3, 2, 3, 2}, {},
        {{"perm", Ints{1, 0, 2, 5, 4, 3}}});
  check("transpose", {}, {}, {{"perm", Ints{}}});
  check("transpose", {7}, {}, {{"perm", Ints{0}}});
}

TEST(KernelReference, SliceRangesAndSteps) {
  check("slice", {3, 7, 4}, {},
        {{"dim", int64_t(1)},
         {"start", int64_t(2)},
         {"end", int64_t(6)},
         {"step", int64_t(1)}});
  check("slice", {3, 7, 4}, {},
        {{"dim", int64_t(1)},
         {"start", int64_t(1)},
         {"end", int64_t(7)},
         {"step", int64_t(3)}});
  check("slice", {9}, {},
        {{"dim", int64_t(0)},
         {"start", int64_t(0)},
         {"end", int64_t(9)},
         {"step", int64_t(2)}});
  check("slice", {2, 3, 5}, {},
        {{"dim", int64_t(2)},
         {"start", int64_t(4)},
         {"end", int64_t(5)},
         {"step", int64_t(1)}});
}

TEST(KernelReference, MatmulRanksAndBroadcasting) {
  check("matmul", {3, 37}, {{37, 5}}, {});
  check("matmul", {3, 37}, {{37}}, {});    // matrix-vector (n == 1)
  check("matmul", {37}, {{37}}, {});       // dot product
  check("matmul", {11}, {{2, 11, 4}}, {}); // 1-D against a batch
  check("matmul", {2, 1, 3, 9}, {{3, 9, 4}}, {});
  check("matmul", {1, 3, 2, 5}, {{2, 1, 5, 6}}, {});
  check("matmul", {2, 1, 2, 1, 3, 4}, {{3, 1, 2, 4, 1}}, {});
}

TEST(KernelReference, LayerNormOverTrailingDims) {
  check("layer_norm", {2, 3, 5}, {{5}, {5}},
        {{"normalized_shape", Ints{5}}, {"eps", 1e-5}});
  check("layer_norm", {2, 3, 4, 5}, {{4, 5}},
        {{"normalized_shape", Ints{4, 5}}, {"eps", 1e-3}});
  check("layer_norm", {3, 4, 19}, {},
        {{"normalized_shape", Ints{3, 4, 19}}, {"eps", 0.1}});
  check("layer_norm", {6, 1}, {{1}, {1}},
        {{"normalized_shape", Ints{1}}, {"eps", 1e-5}});
}

TEST(KernelReference, GroupNormGroupsAndRanks) {
  check("group_norm", {2, 6, 5, 3}, {{6}, {6}},
        {{"num_groups", int64_t(3)}, {"eps", 1e-5}});
  check("group_norm", {2, 6, 7}, {{6}, {6}},
        {{"num_groups", int64_t(6)}, {"eps", 1e-5}});
  check("group_norm", {3, 4}, {}, {{"num_groups", int64_t(1)}, {"eps", 1e-3}});
  check("group_norm", {1, 4, 2, 3, 2}, {{4}, {4}},
        {{"num_groups", int64_t(2)}, {"eps", 1e-5}});
}

TEST(KernelReference, UpsampleNearestSizesAndScales) {
  // Sizes (step in / out), scale factors (step 1 / scale), and one channel
  // (PyTorch's copy / halve rule for unchanged and doubled sizes).
  check("upsample_nearest", {2, 3, 7}, {}, {{"size", Ints{11}}});
  check("upsample_nearest", {1, 2, 5, 4}, {},
        {{"size", Ints{11, 8}}, {"scale_h", 2.3}, {"scale_w", 2.1}});
  check("upsample_nearest", {1, 1, 6, 4}, {},
        {{"size", Ints{6, 8}}, {"scale_h", 1.1}, {"scale_w", 2.1}});
  check("upsample_nearest", {1, 2, 3, 4, 5}, {},
        {{"size", Ints{2, 6, 2}},
         {"scale_d", 0.7},
         {"scale_h", 1.5},
         {"scale_w", 0.5}});
}

TEST(KernelReference, UpsampleBilinearBothKernels) {
  // Two channels (PyTorch's generic kernel), one channel (its channels-last
  // kernel), more output columns than the kernel's block of 32.
  for (bool align : {false, true}) {
    check("upsample_bilinear", {1, 2, 5, 4}, {},
          {{"size", Ints{9, 3}}, {"align_corners", align}});
    check("upsample_bilinear", {2, 1, 4, 5}, {},
          {{"size", Ints{9, 11}},
           {"align_corners", align},
           {"scale_h", 2.3},
           {"scale_w", 2.3}});
    check("upsample_bilinear", {1, 3, 3, 17}, {},
          {{"size", Ints{4, 40}}, {"align_corners", align}});
  }
}

} // namespace
} // namespace kiln
