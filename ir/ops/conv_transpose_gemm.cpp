// Op `conv_transpose_gemm`: a `conv_transpose` whose weights the
// pack-weights pass has strip-packed at compile time for the runtime's
// GEMM + col2im kernel (runtime/kiln/kernels/packing.h).
//   operands: input [N, Cin, S...], weight [groups, strips, Cin/groups, 32]
//             (packed), bias [Cout]?, residual [N, Cout, S'...]?
//   attrs: kernel (the unpacked weight shape [Cin, Cout/groups, k...]),
//          stride, padding, output_padding, dilation, groups as
//          `conv_transpose`; mr (input positions a tile: 4, 6, 8, 12 or 16);
//          activation?, act_a?, act_b? (fused epilogue)
#include "runtime/kiln/kernels/conv_transpose_gemm.h"
#include "ir/ops/conv_common.h"
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"

namespace kiln::ops {
namespace {

Shape packedShape(const std::vector<int64_t> &kernel, int64_t groups, int64_t) {
  return {groups, kiln_rt::packed_strips(transposeColumns(kernel)),
          kernel[0] / groups, kiln_rt::kStripCols};
}

std::vector<Shape> inferConvTransposeGemm(const Op &op) {
  return {inferPackedConvTranspose(op, packedShape,
                                   "[groups, strips, Cin/groups, 32]")};
}

void unpack(const Op &op, const float *packed, float *w) {
  const auto &kernel = op.getInts("kernel");
  int groups = int(op.getInt("groups"));
  kiln_rt::for_each_strip_packed(
      groups, transposeColumns(kernel), int(kernel[0]) / groups,
      [&](int64_t plain, int64_t at) { w[plain] = packed[at]; });
}

void evalConvTransposeGemm(const Op &op, const std::vector<const float *> &in,
                           const std::vector<float *> &out) {
  evalPackedConvTranspose(op, in, out, unpack);
}

std::vector<KernelCall> lowerConvTransposeGemm(const Op &op) {
  const auto &kernel = op.getInts("kernel");
  int64_t mr = op.getInt("mr");
  return convTransposeGemmCall(
      op, "conv_transpose_gemm_mr" + std::to_string(mr),
      kiln_rt::conv_transpose_gemm_scratch_floats(
          int(kernel[0] / op.getInt("groups")), int(mr)));
}

} // namespace

extern const OpDef kConvTransposeGemmOp = {
    .name = "conv_transpose_gemm",
    .operands = {{"input"}, {"weight"}, {"bias", true}, {"residual", true}},
    .attrs = packedConvTransposeAttrs(),
    .inferShapes = inferConvTransposeGemm,
    .evaluate = evalConvTransposeGemm,
    .lower = lowerConvTransposeGemm,
    .macs = macsPackedConvTranspose,
    .fusableEpilogue = true,
};

} // namespace kiln::ops
