// Op `conv_transpose`: N-d transposed convolution (1 to 3 spatial dims).
//   operands: input [N, Cin, S...], weight [Cin, Cout/groups, K...], bias
//   [Cout]?,
//             residual? (fused `add`)
//   attrs: stride, padding (symmetric), output_padding, dilation, groups,
//          activation?, act_a?, act_b? (fused activation epilogue)
#include "ir/ops/conv_common.h"
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"
#include "runtime/kiln/kernels/packing.h"

namespace kiln::ops {
namespace {} // namespace

Shape convTransposeShape(const Op &op, const Shape &w) {
  size_t ns = op.getInts("stride").size();
  if (ns < 1 || ns > 3)
    op.error("expected 1 to 3 spatial dims, found " + std::to_string(ns));
  checkInts(op, "stride", ns, 1);
  checkInts(op, "dilation", ns, 1);
  checkInts(op, "padding", ns, 0);
  checkInts(op, "output_padding", ns, 0);
  const Shape &x = operandShape(op, 0, int(ns) + 2);
  if (w.size() != ns + 2)
    op.error("weight " + shapeToString(w) + " must have rank " +
             std::to_string(ns + 2));
  int64_t groups = op.getInt("groups");
  if (groups < 1 || x[1] % groups != 0)
    op.error("groups " + std::to_string(groups) +
             " must divide the input channels " + std::to_string(x[1]));
  if (w[0] != x[1])
    op.error("input has " + std::to_string(x[1]) + " channels but the weight " +
             shapeToString(w) + " expects " + std::to_string(w[0]));
  int64_t cout = w[1] * groups;
  if (Value *b = op.operand(2); b && b->shape != Shape{cout})
    op.error("bias shape " + shapeToString(b->shape) + " does not match [" +
             std::to_string(cout) + "]");
  const auto &s = op.getInts("stride"), &p = op.getInts("padding"),
             &d = op.getInts("dilation"), &opad = op.getInts("output_padding");
  Shape out = {x[0], cout};
  for (size_t i = 0; i < ns; ++i) {
    if (opad[i] >= std::max(s[i], d[i]))
      op.error("output_padding " + std::to_string(opad[i]) +
               " in spatial dim " + std::to_string(i) +
               " must be smaller than the stride " + std::to_string(s[i]) +
               " or the dilation " + std::to_string(d[i]));
    int64_t o =
        (x[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (w[2 + i] - 1) + opad[i] + 1;
    if (o < 1)
      op.error("spatial dim " + std::to_string(i) + ": input size " +
               std::to_string(x[2 + i]) + " gives output size " +
               std::to_string(o) + " (padding " + std::to_string(p[i]) +
               " is too large)");
    out.push_back(o);
  }
  verifyEpilogue(op, 3, out);
  return out;
}

namespace {

std::vector<Shape> inferConvTranspose(const Op &op) {
  return {convTransposeShape(
      op, operandShape(op, 1, int(op.getInts("stride").size()) + 2))};
}

ConvGeom geometry(const Op &op) {
  return convGeometry(op, op.getInts("padding"));
}

void evalConvTranspose(const Op &op, const std::vector<const float *> &in,
                       const std::vector<float *> &out) {
  referenceConvTranspose(geometry(op), in[0], in[1],
                         in.size() > 2 ? in[2] : nullptr, out[0]);
  applyEpilogue(op, in.size() > 3 ? in[3] : nullptr, out[0],
                op.result()->numElements());
}

int64_t outChannel(const Op &op, int64_t flat) {
  const Shape &w = op.operand(1)->shape;
  int64_t kVol = numElements(w) / (w[0] * w[1]);
  int64_t ic = flat / (w[1] * kVol), j = flat / kVol % w[1];
  int64_t cinG = w[0] / op.getInt("groups");
  return ic / cinG * w[1] + j;
}

bool foldAffine(Op &op, Graph &g, const std::vector<double> &scale,
                const std::vector<double> &shift) {
  return foldAffineIntoWeights(op, g, scale, shift, outChannel);
}

std::vector<KernelCall> lowerConvTranspose(const Op &op) {
  return convKernelCall(op, "conv_transpose", geometry(op));
}

/// pack-weights: on a vector ISA, an input of at least two strips of tile
/// columns takes conv_transpose_phases (taps as rows, blocks of mr taps
/// packed; scratch of the output's size); others conv_transpose_gemm on
/// strip-packed weights, tiles of mr input positions (a GEMV-like kernel for
/// the few positions of a generator's first layers; a small scratch for
/// microcontrollers).
Op *packConvTranspose(Graph &g, Op &op, const TileTarget &t) {
  if (!op.operand(1)->isWeight())
    return nullptr;
  const Shape &w = op.operand(1)->shape, &x = op.operand(0)->shape;
  int groups = int(op.getInt("groups")), cinG = int(w[0]) / groups;
  int64_t cols = numElements(w) / w[0];
  int64_t positions = numElements(x) / (x[0] * x[1]);
  const std::vector<float> &src = *op.operand(1)->data;
  if (t.lanes > 1 && positions >= 2 * t.tileCols()) {
    int mr = chooseBlockHeight(cols, t);
    auto packed = std::make_shared<std::vector<float>>(
        size_t(groups * kiln_rt::packed_blocks(int(cols), mr) * cinG * mr),
        0.0f);
    kiln_rt::for_each_tap_blocked(groups, cols, cinG, mr,
                                  [&](int64_t plain, int64_t at) {
                                    (*packed)[size_t(at)] = src[size_t(plain)];
                                  });
    Value *pw = g.addWeight(
        op.operand(1)->name + ".packed",
        {groups, kiln_rt::packed_blocks(int(cols), mr), cinG, mr}, packed);
    return replaceWithPacked(g, op, "conv_transpose_phases", pw,
                             {{"mr", int64_t(mr)}});
  }
  auto packed = std::make_shared<std::vector<float>>(
      size_t(kiln_rt::strip_packed_size(groups, cols, cinG)), 0.0f);
  kiln_rt::for_each_strip_packed(groups, cols, cinG,
                                 [&](int64_t plain, int64_t at) {
                                   (*packed)[size_t(at)] = src[size_t(plain)];
                                 });
  Value *pw = g.addWeight(
      op.operand(1)->name + ".packed",
      {groups, kiln_rt::packed_strips(cols), cinG, kiln_rt::kStripCols},
      packed);
  int mr = chooseBlockHeight(positions, t);
  return replaceWithPacked(g, op, "conv_transpose_gemm", pw,
                           {{"mr", int64_t(mr)}});
}

int64_t macsConvTranspose(const Op &op) {
  const Shape &w = op.operand(1)->shape;
  return op.operand(0)->numElements() * numElements(w) / w[0];
}

} // namespace

extern const OpDef kConvTransposeOp = {
    .name = "conv_transpose",
    .operands = {{"input"}, {"weight"}, {"bias", true}, {"residual", true}},
    .attrs = withEpilogueAttrs({{"dilation", AttrKind::Ints},
                                {"groups", AttrKind::Int},
                                {"output_padding", AttrKind::Ints},
                                {"padding", AttrKind::Ints},
                                {"stride", AttrKind::Ints}}),
    .inferShapes = inferConvTranspose,
    .evaluate = evalConvTranspose,
    .lower = lowerConvTranspose,
    .macs = macsConvTranspose,
    .fusableEpilogue = true,
    .foldChannelAffine = foldAffine,
    .packForTarget = packConvTranspose,
};

} // namespace kiln::ops
