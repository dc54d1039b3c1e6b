// Per-channel elementwise ops (channels = dim 1):
//   prelu(input, weight [1] or [C])
//   batch_norm(input, running_mean [C], running_var [C], weight [C]?, bias
//   [C]?)
//     {eps}: inference normalisation with running statistics
#include "ir/ops/op_helpers.h"

#include <cmath>

namespace kiln::ops {
namespace {

int64_t channels(const Shape &x) { return x.size() >= 2 ? x[1] : 1; }

KernelParam channelParams(const Op &op, bool perChannel, double eps) {
  const Shape &x = op.operand(0)->shape;
  int64_t c = channels(x);
  int64_t outer = x.size() >= 2 ? x[0] : 1;
  int64_t inner = numElements(x) / (outer * c);
  return KernelParam::group("",
                            {KernelParam::integer("outer", outer),
                             KernelParam::integer("channels", c),
                             KernelParam::integer("inner", inner),
                             KernelParam::integer("per_channel", perChannel),
                             KernelParam::real("eps", eps)});
}

std::vector<Shape> inferPrelu(const Op &op) {
  const Shape &x = operandShape(op, 0);
  const Shape &w = operandShape(op, 1, 1);
  if (w[0] != 1 && w[0] != channels(x))
    op.error("weight has " + std::to_string(w[0]) +
             " parameters; expected 1 or the input's " +
             std::to_string(channels(x)) + " channels (input shape " +
             shapeToString(x) + ")");
  return {x};
}

void evalPrelu(const Op &op, const std::vector<const float *> &in,
               const std::vector<float *> &out) {
  const Shape &x = op.operand(0)->shape;
  int64_t n = numElements(x), c = channels(x), inner = n;
  if (x.size() >= 2)
    inner = n / (x[0] * c);
  bool per = op.operand(1)->shape[0] != 1;
  for (int64_t i = 0; i < n; ++i) {
    float a = in[1][per ? (i / inner) % c : 0];
    out[0][i] = in[0][i] >= 0 ? in[0][i] : a * in[0][i];
  }
}

std::vector<KernelCall> lowerPrelu(const Op &op) {
  return {KernelCall{"prelu", "ChannelParams",
                     channelParams(op, op.operand(1)->shape[0] != 1, 0.0)}};
}

std::vector<Shape> inferBatchNorm(const Op &op) {
  const Shape &x = checkChannelOperands(op);
  if (!(op.getFloat("eps") > 0))
    op.error("eps must be positive");
  return {x};
}

void evalBatchNorm(const Op &op, const std::vector<const float *> &in,
                   const std::vector<float *> &out) {
  const Shape &x = op.operand(0)->shape;
  int64_t n = numElements(x), c = x[1], inner = n / (x[0] * c);
  double eps = op.getFloat("eps");
  for (int64_t i = 0; i < n; ++i) {
    int64_t ch = (i / inner) % c;
    double v = (in[0][i] - double(in[1][ch])) /
               std::sqrt(double(in[2][ch]) + float(eps));
    if (in.size() > 3 && in[3])
      v *= in[3][ch];
    if (in.size() > 4 && in[4])
      v += in[4][ch];
    out[0][i] = float(v);
  }
}

std::vector<KernelCall> lowerBatchNorm(const Op &op) {
  return {KernelCall{"batch_norm", "ChannelParams",
                     channelParams(op, true, op.getFloat("eps"))}};
}

int64_t macsElementwise(const Op &op) { return op.result()->numElements(); }

/// A one-parameter PReLU with a constant slope is a leaky ReLU epilogue.
bool preluAsEpilogue(const Op &op, std::string &act, double &a, double &b) {
  Value *w = op.operand(1);
  if (!w->isWeight() || w->numElements() != 1)
    return false;
  act = "leaky_relu";
  a = (*w->data)[0];
  b = 0;
  return true;
}

/// Inference BatchNorm with constant statistics and affine parameters is
/// y = x * scale[c] + shift[c], computed as PyTorch's CPU kernel does.
bool batchNormAffine(const Op &op, std::vector<double> &scale,
                     std::vector<double> &shift) {
  for (Value *v : op.operands)
    if (v && v != op.operand(0) && !v->isWeight())
      return false;
  int64_t c = op.operand(1)->numElements();
  scale.assign(size_t(c), 0);
  shift.assign(size_t(c), 0);
  float eps = float(op.getFloat("eps"));
  for (int64_t i = 0; i < c; ++i) {
    float invstd = 1.0f / std::sqrt((*op.operand(2)->data)[size_t(i)] + eps);
    float s =
        op.operand(3) ? (*op.operand(3)->data)[size_t(i)] * invstd : invstd;
    float b = op.operand(4) ? (*op.operand(4)->data)[size_t(i)] : 0.0f;
    scale[size_t(i)] = s;
    shift[size_t(i)] = b - (*op.operand(1)->data)[size_t(i)] * s;
  }
  return true;
}

} // namespace

extern const OpDef kPreluOp = {.name = "prelu",
                               .operands = {{"input"}, {"weight"}},
                               .inferShapes = inferPrelu,
                               .evaluate = evalPrelu,
                               .lower = lowerPrelu,
                               .macs = macsElementwise,
                               .asEpilogue = preluAsEpilogue};

extern const OpDef kBatchNormOp = {
    .name = "batch_norm",
    .operands = {{"input"},
                 {"running_mean"},
                 {"running_var"},
                 {"weight", true},
                 {"bias", true}},
    .attrs = {{"eps", AttrKind::Float}},
    .inferShapes = inferBatchNorm,
    .evaluate = evalBatchNorm,
    .lower = lowerBatchNorm,
    .macs = macsElementwise,
    .channelAffine = batchNormAffine,
};

} // namespace kiln::ops
