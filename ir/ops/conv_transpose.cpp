// Op `conv_transpose`: N-d transposed convolution (1 to 3 spatial dims).
//   operands: input [N, Cin, S...], weight [Cin, Cout/groups, K...], bias
//   [Cout]?,
//             residual? (fused `add`)
//   attrs: stride, padding (symmetric), output_padding, dilation, groups,
//          activation?, act_a?, act_b? (fused activation epilogue)
#include "ir/ops/conv_common.h"
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"

namespace kiln::ops {
namespace {

std::vector<Shape> inferConvTranspose(const Op &op) {
  size_t ns = op.getInts("stride").size();
  if (ns < 1 || ns > 3)
    op.error("expected 1 to 3 spatial dims, found " + std::to_string(ns));
  checkInts(op, "stride", ns, 1);
  checkInts(op, "dilation", ns, 1);
  checkInts(op, "padding", ns, 0);
  checkInts(op, "output_padding", ns, 0);
  const Shape &x = operandShape(op, 0, int(ns) + 2);
  const Shape &w = operandShape(op, 1, int(ns) + 2);
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
  return {out};
}

ConvGeom geometry(const Op &op) {
  return convGeometry(op, op.getInts("padding"));
}

void evalConvTranspose(const Op &op, const std::vector<const float *> &in,
                       const std::vector<float *> &out) {
  ConvGeom g = geometry(op);
  int64_t cinG = g.cin / g.groups, coutG = g.cout / g.groups;
  int64_t outPlane = g.out[0] * g.out[1] * g.out[2];
  std::vector<double> acc(size_t(g.n * g.cout * outPlane));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t oc = 0; oc < g.cout; ++oc)
      for (int64_t i = 0; i < outPlane; ++i)
        acc[(n * g.cout + oc) * outPlane + i] = in.size() > 2 ? in[2][oc] : 0;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t ic = 0; ic < g.cin; ++ic)
      for (int64_t id = 0; id < g.in[0]; ++id)
        for (int64_t ih = 0; ih < g.in[1]; ++ih)
          for (int64_t iw = 0; iw < g.in[2]; ++iw) {
            double xv =
                in[0][(((n * g.cin + ic) * g.in[0] + id) * g.in[1] + ih) *
                          g.in[2] +
                      iw];
            for (int64_t ocg = 0; ocg < coutG; ++ocg) {
              int64_t oc = ic / cinG * coutG + ocg;
              for (int64_t kd = 0; kd < g.k[0]; ++kd)
                for (int64_t kh = 0; kh < g.k[1]; ++kh)
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    int64_t od = id * g.s[0] - g.p[0] + kd * g.d[0];
                    int64_t oh = ih * g.s[1] - g.p[1] + kh * g.d[1];
                    int64_t ow = iw * g.s[2] - g.p[2] + kw * g.d[2];
                    if (od < 0 || od >= g.out[0] || oh < 0 || oh >= g.out[1] ||
                        ow < 0 || ow >= g.out[2])
                      continue;
                    double wv =
                        in[1]
                          [(((ic * coutG + ocg) * g.k[0] + kd) * g.k[1] + kh) *
                               g.k[2] +
                           kw];
                    acc[(n * g.cout + oc) * outPlane +
                        (od * g.out[1] + oh) * g.out[2] + ow] += xv * wv;
                  }
            }
          }
  for (size_t i = 0; i < acc.size(); ++i)
    out[0][i] = float(acc[i]);
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
};

} // namespace kiln::ops
