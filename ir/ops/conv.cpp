// Op `conv`: N-d convolution (1 to 3 spatial dims) with groups, stride,
// explicit begin/end zero padding and dilation.
//   operands: input [N, Cin, S...], weight [Cout, Cin/groups, K...],
//             bias [Cout]?, residual [N, Cout, S'...]? (fused `add`)
//   attrs: stride [s...], padding [begin..., end...], dilation [d...], groups,
//          activation?, act_a?, act_b? (fused activation epilogue)
#include "ir/ops/conv_common.h"
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"

namespace kiln::ops {
namespace {

size_t spatialRank(const Op &op) { return op.getInts("stride").size(); }

std::vector<Shape> inferConv(const Op &op) {
  size_t ns = spatialRank(op);
  if (ns < 1 || ns > 3)
    op.error("expected 1 to 3 spatial dims, found " + std::to_string(ns));
  checkInts(op, "stride", ns, 1);
  checkInts(op, "dilation", ns, 1);
  checkInts(op, "padding", 2 * ns, 0);
  const Shape &x = operandShape(op, 0, int(ns) + 2);
  const Shape &w = operandShape(op, 1, int(ns) + 2);
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
  return {out};
}

ConvGeom geometry(const Op &op) {
  const auto &pad = op.getInts("padding");
  return convGeometry(op, {pad.begin(), pad.begin() + long(pad.size() / 2)});
}

void evalConv(const Op &op, const std::vector<const float *> &in,
              const std::vector<float *> &out) {
  ConvGeom g = geometry(op);
  const float *x = in[0], *w = in[1], *b = in.size() > 2 ? in[2] : nullptr;
  int64_t cinG = g.cin / g.groups, coutG = g.cout / g.groups;
  float *y = out[0];
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oc = 0; oc < g.cout; ++oc)
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            double acc = b ? b[oc] : 0.0;
            for (int64_t icg = 0; icg < cinG; ++icg) {
              int64_t ic = oc / coutG * cinG + icg;
              for (int64_t kd = 0; kd < g.k[0]; ++kd)
                for (int64_t kh = 0; kh < g.k[1]; ++kh)
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    int64_t id = od * g.s[0] - g.p[0] + kd * g.d[0];
                    int64_t ih = oh * g.s[1] - g.p[1] + kh * g.d[1];
                    int64_t iw = ow * g.s[2] - g.p[2] + kw * g.d[2];
                    if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] ||
                        iw < 0 || iw >= g.in[2])
                      continue;
                    double xv =
                        x[(((n * g.cin + ic) * g.in[0] + id) * g.in[1] + ih) *
                              g.in[2] +
                          iw];
                    double wv =
                        w[(((oc * cinG + icg) * g.k[0] + kd) * g.k[1] + kh) *
                              g.k[2] +
                          kw];
                    acc += xv * wv;
                  }
            }
            y[(((n * g.cout + oc) * g.out[0] + od) * g.out[1] + oh) * g.out[2] +
              ow] = float(acc);
          }
  applyEpilogue(op, in.size() > 3 ? in[3] : nullptr, y,
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
  return convKernelCall(op, "conv", geometry(op));
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
};

} // namespace kiln::ops
