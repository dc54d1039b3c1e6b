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

ConvGeom geometry(const Op &op) {
  return convGeometry(op, op.getInts("kernel"), op.getInts("padding"));
}

/// Columns of a group's GEMM: Cout/groups x kernel volume.
int64_t columns(const std::vector<int64_t> &kernel) {
  int64_t c = 1;
  for (size_t i = 1; i < kernel.size(); ++i)
    c *= kernel[i];
  return c;
}

std::vector<Shape> inferConvTransposeGemm(const Op &op) {
  const auto &kernel = op.getInts("kernel");
  checkInts(op, "kernel", op.getInts("stride").size() + 2, 1);
  int64_t mr = op.getInt("mr"), groups = op.getInt("groups");
  if (!kiln_rt::is_block_height(int(mr)))
    op.error("mr must be 4, 6, 8, 12 or 16, found " + std::to_string(mr));
  Shape out = convTransposeShape(op, kernel);
  int64_t cols = columns(kernel);
  Shape packed = {groups, kiln_rt::packed_strips(cols), kernel[0] / groups,
                  kiln_rt::kStripCols};
  if (operandShape(op, 1) != packed)
    op.error("packed weight shape " + shapeToString(op.operand(1)->shape) +
             " is not " + shapeToString(packed) +
             " ([groups, strips, Cin/groups, 32] for kernel " +
             shapeToString(kernel) + ")");
  return {out};
}

void evalConvTransposeGemm(const Op &op, const std::vector<const float *> &in,
                           const std::vector<float *> &out) {
  const auto &kernel = op.getInts("kernel");
  int groups = int(op.getInt("groups")), cinG = int(kernel[0]) / groups;
  int64_t cols = columns(kernel);
  std::vector<float> w(size_t(kernel[0] * cols));
  kiln_rt::for_each_strip_packed(
      groups, cols, cinG,
      [&](int64_t plain, int64_t at) { w[size_t(plain)] = in[1][at]; });
  referenceConvTranspose(geometry(op), in[0], w.data(),
                         in.size() > 2 ? in[2] : nullptr, out[0]);
  applyEpilogue(op, in.size() > 3 ? in[3] : nullptr, out[0],
                op.result()->numElements());
}

std::vector<KernelCall> lowerConvTransposeGemm(const Op &op) {
  ConvGeom g = geometry(op);
  int64_t mr = op.getInt("mr");
  std::vector<KernelParam> fields = geometryFields(g);
  fields.push_back(KernelParam::integer("mr", mr));
  fields.push_back(epilogueParam(op));
  KernelCall call{"conv_transpose_gemm_mr" + std::to_string(mr),
                  "ConvTransposeGemmParams",
                  KernelParam::group("", fields),
                  {0, 1, 2, 3, -1, KernelCall::kScratchArg}};
  call.scratchBytes = int64_t(kiln_rt::conv_transpose_gemm_scratch_floats(
                          int(g.cin / g.groups), int(mr))) *
                      int64_t(sizeof(float));
  return {call};
}

int64_t macsConvTransposeGemm(const Op &op) {
  return op.operand(0)->numElements() * columns(op.getInts("kernel"));
}

} // namespace

extern const OpDef kConvTransposeGemmOp = {
    .name = "conv_transpose_gemm",
    .operands = {{"input"}, {"weight"}, {"bias", true}, {"residual", true}},
    .attrs = withEpilogueAttrs({{"dilation", AttrKind::Ints},
                                {"groups", AttrKind::Int},
                                {"kernel", AttrKind::Ints},
                                {"mr", AttrKind::Int},
                                {"output_padding", AttrKind::Ints},
                                {"padding", AttrKind::Ints},
                                {"stride", AttrKind::Ints}}),
    .inferShapes = inferConvTransposeGemm,
    .evaluate = evalConvTransposeGemm,
    .lower = lowerConvTransposeGemm,
    .macs = macsConvTransposeGemm,
    .fusableEpilogue = true,
};

} // namespace kiln::ops
