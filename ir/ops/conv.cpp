// Op `conv`: N-d convolution (1 to 3 spatial dims) with groups, stride,
// explicit begin/end zero padding and dilation.
//   operands: input [N, Cin, S...], weight [Cout, Cin/groups, K...],
//             bias [Cout]?, residual [N, Cout, S'...]? (fused `add`)
//   attrs: stride [s...], padding [begin..., end...], dilation [d...], groups,
//          activation?, act_a?, act_b? (fused activation epilogue)
#include "ir/ops/conv_common.h"
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"
#include "runtime/kiln/kernels/packing.h"

namespace kiln::ops {
namespace {} // namespace

Shape convShape(const Op &op, const Shape &w) {
  size_t ns = op.getInts("stride").size();
  if (ns < 1 || ns > 3)
    op.error("expected 1 to 3 spatial dims, found " + std::to_string(ns));
  checkInts(op, "stride", ns, 1);
  checkInts(op, "dilation", ns, 1);
  checkInts(op, "padding", 2 * ns, 0);
  const Shape &x = operandShape(op, 0, int(ns) + 2);
  if (w.size() != ns + 2)
    op.error("weight " + shapeToString(w) + " must have rank " +
             std::to_string(ns + 2));
  int64_t groups = op.getInt("groups");
  int64_t cin = x[1], cout = w[0];
  if (groups < 1)
    op.error("groups must be >= 1, found " + std::to_string(groups));
  if (cin % groups != 0 || cout % groups != 0)
    op.error("groups " + std::to_string(groups) +
             " must divide the input channels " + std::to_string(cin) +
             " and the output channels " + std::to_string(cout));
  if (w[1] * groups != cin)
    op.error("input has " + std::to_string(cin) + " channels but the weight " +
             shapeToString(w) + " expects " + std::to_string(w[1] * groups) +
             " (weight dim 1 x groups " + std::to_string(groups) + ")");
  if (Value *b = op.operand(2); b && b->shape != Shape{cout})
    op.error("bias shape " + shapeToString(b->shape) + " does not match [" +
             std::to_string(cout) + "]");
  const auto &s = op.getInts("stride"), &p = op.getInts("padding"),
             &d = op.getInts("dilation");
  Shape out = {x[0], cout};
  for (size_t i = 0; i < ns; ++i)
    out.push_back(
        convOutSize(op, i, x[2 + i], w[2 + i], s[i], p[i], p[ns + i], d[i]));
  verifyEpilogue(op, 3, out);
  return out;
}

namespace {

std::vector<Shape> inferConv(const Op &op) {
  return {
      convShape(op, operandShape(op, 1, int(op.getInts("stride").size()) + 2))};
}

ConvGeom geometry(const Op &op) {
  const auto &pad = op.getInts("padding");
  return convGeometry(op, {pad.begin(), pad.begin() + long(pad.size() / 2)});
}

void evalConv(const Op &op, const std::vector<const float *> &in,
              const std::vector<float *> &out) {
  referenceConv(geometry(op), in[0], in[1], in.size() > 2 ? in[2] : nullptr,
                out[0]);
  applyEpilogue(op, in.size() > 3 ? in[3] : nullptr, out[0],
                op.result()->numElements());
}

int64_t outChannel(const Op &op, int64_t flat) {
  return flat / (numElements(op.operand(1)->shape) / op.operand(1)->shape[0]);
}

bool foldAffine(Op &op, Graph &g, const std::vector<double> &scale,
                const std::vector<double> &shift) {
  return foldAffineIntoWeights(op, g, scale, shift, outChannel);
}

std::vector<KernelCall> lowerConv(const Op &op) {
  ConvGeom g = geometry(op);
  // One input and one output channel per group, 1-D or 2-D: the depthwise
  // kernel (vectorised along the output width).
  bool depthwise = g.groups == g.cin && g.groups == g.cout &&
                   op.getInts("stride").size() <= 2;
  return convKernelCall(op, depthwise ? "depthwise_conv" : "conv", g);
}

/// pack-weights: conv_winograd where it pays (3x3 stride 1), else
/// conv_gemm on weights in blocks of mr output channels, when the groups
/// have at least 4 (a depthwise conv keeps its kernel).
Op *packConv(Graph &g, Op &op, const TileTarget &t) {
  const Shape &w = op.operand(1)->shape;
  int groups = int(op.getInt("groups")), coutG = int(w[0]) / groups;
  if (!op.operand(1)->isWeight() || coutG < 4)
    return nullptr;
  if (int m = chooseWinogradTile(op, t))
    return packWinograd(g, op, t, m);
  int64_t k = numElements(w) / w[0];
  int mr = chooseBlockHeight(coutG, t);
  auto packed = std::make_shared<std::vector<float>>(
      size_t(kiln_rt::packed_weight_size(groups, coutG, k, mr)), 0.0f);
  const std::vector<float> &src = *op.operand(1)->data;
  kiln_rt::for_each_blocked(groups, coutG, k, mr,
                            [&](int64_t plain, int64_t at) {
                              (*packed)[size_t(at)] = src[size_t(plain)];
                            });
  Value *pw =
      g.addWeight(op.operand(1)->name + ".packed",
                  {groups, kiln_rt::packed_blocks(coutG, mr), k, mr}, packed);
  return replaceWithPacked(g, op, "conv_gemm", pw,
                           {{"mr", int64_t(mr)},
                            {"kc", int64_t(chooseKChunk(k, t))},
                            {"nr", int64_t(t.tileCols())}});
}

int64_t macsConv(const Op &op) {
  const Shape &w = op.operand(1)->shape;
  return numElements(op.result()->shape) * numElements(w) / w[0];
}

} // namespace

extern const OpDef kConvOp = {
    .name = "conv",
    .operands = {{"input"}, {"weight"}, {"bias", true}, {"residual", true}},
    .attrs = withEpilogueAttrs({{"dilation", AttrKind::Ints},
                                {"groups", AttrKind::Int},
                                {"padding", AttrKind::Ints},
                                {"stride", AttrKind::Ints}}),
    .inferShapes = inferConv,
    .evaluate = evalConv,
    .lower = lowerConv,
    .macs = macsConv,
    .fusableEpilogue = true,
    .foldChannelAffine = foldAffine,
    .packForTarget = packConv,
};

} // namespace kiln::ops
