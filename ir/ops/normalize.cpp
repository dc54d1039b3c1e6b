// Normalising ops:
//   softmax / log_softmax (input) {dim}
//   local_response_norm (input) {size, alpha, beta, k}: across channels
//   batch_norm_batch_stats (input, weight?, bias?) {eps}: BatchNorm with the
//     batch's own mean and biased variance (track_running_stats=false)
#include "ir/ops/op_helpers.h"

#include <cmath>
#include <cstring>

namespace kiln::ops {
namespace {

// ---- softmax / log_softmax

int64_t softmaxDim(const Op &op) {
  int64_t rank = int64_t(op.operand(0)->shape.size());
  int64_t d = wrapDim(op.getInt("dim"), rank);
  if (d < 0)
    op.error("dim " + std::to_string(op.getInt("dim")) +
             " is out of range for an input of shape " +
             shapeToString(op.operand(0)->shape));
  return d;
}

/// [outer, dim, inner] of the input around `dim`.
std::array<int64_t, 3> around(const Shape &x, int64_t d) {
  std::array<int64_t, 3> r = {1, x.empty() ? 1 : x[size_t(d)], 1};
  for (int64_t i = 0; i < int64_t(x.size()); ++i)
    if (i < d)
      r[0] *= x[size_t(i)];
    else if (i > d)
      r[2] *= x[size_t(i)];
  return r;
}

std::vector<Shape> inferSoftmax(const Op &op) {
  softmaxDim(op);
  return {operandShape(op, 0)};
}

void evalSoftmax(const Op &op, const std::vector<const float *> &in,
                 const std::vector<float *> &out) {
  auto [outer, dim, inner] = around(op.operand(0)->shape, softmaxDim(op));
  bool log = std::strcmp(op.name(), "log_softmax") == 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float *x = in[0] + o * dim * inner + i;
      float *y = out[0] + o * dim * inner + i;
      double m = -INFINITY;
      for (int64_t d = 0; d < dim; ++d)
        m = std::isnan(x[d * inner]) ? NAN : std::max(m, double(x[d * inner]));
      double s = 0;
      for (int64_t d = 0; d < dim; ++d)
        s += std::exp(x[d * inner] - m);
      for (int64_t d = 0; d < dim; ++d)
        y[d * inner] = float(log ? x[d * inner] - m - std::log(s)
                                 : std::exp(x[d * inner] - m) / s);
    }
}

std::vector<KernelCall> lowerSoftmax(const Op &op) {
  auto [outer, dim, inner] = around(op.operand(0)->shape, softmaxDim(op));
  return {KernelCall{
      "softmax", "SoftmaxParams",
      KernelParam::group(
          "", {KernelParam::integer("outer", outer),
               KernelParam::integer("dim", dim),
               KernelParam::integer("inner", inner),
               KernelParam::integer(
                   "log", std::strcmp(op.name(), "log_softmax") == 0)})}};
}

int64_t macsElementwise(const Op &op) { return op.result()->numElements(); }

// ---- local_response_norm

std::vector<Shape> inferLrn(const Op &op) {
  const Shape &x = operandShape(op, 0);
  if (x.size() < 3)
    op.error("expected an input of rank 3 or more, found shape " +
             shapeToString(x));
  if (op.getInt("size") < 1)
    op.error("size must be >= 1, found " + std::to_string(op.getInt("size")));
  return {x};
}

void evalLrn(const Op &op, const std::vector<const float *> &in,
             const std::vector<float *> &out) {
  const Shape &x = op.operand(0)->shape;
  int64_t n = x[0], c = x[1], inner = op.operand(0)->numElements() / (n * c);
  int64_t size = op.getInt("size");
  double alpha = op.getFloat("alpha"), beta = op.getFloat("beta"),
         k = op.getFloat("k");
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < inner; ++i) {
        double s = 0;
        for (int64_t cc = ch - size / 2; cc <= ch + (size - 1) / 2; ++cc)
          if (cc >= 0 && cc < c) {
            double v = in[0][(b * c + cc) * inner + i];
            s += v * v;
          }
        int64_t at = (b * c + ch) * inner + i;
        out[0][at] =
            float(in[0][at] / std::pow(k + alpha * s / double(size), beta));
      }
}

std::vector<KernelCall> lowerLrn(const Op &op) {
  const Shape &x = op.operand(0)->shape;
  return {KernelCall{
      "local_response_norm", "LrnParams",
      KernelParam::group(
          "", {KernelParam::integer("n", x[0]),
               KernelParam::integer("channels", x[1]),
               KernelParam::integer("inner", op.operand(0)->numElements() /
                                                 (x[0] * x[1])),
               KernelParam::integer("size", op.getInt("size")),
               KernelParam::real("alpha", op.getFloat("alpha")),
               KernelParam::real("beta", op.getFloat("beta")),
               KernelParam::real("k", op.getFloat("k"))})}};
}

// ---- batch_norm_batch_stats

std::vector<Shape> inferBatchStats(const Op &op) {
  const Shape &x = checkChannelOperands(op);
  if (numElements(x) / x[1] < 2)
    op.error("batch statistics need more than one value per channel, found "
             "input shape " +
             shapeToString(x));
  if (!(op.getFloat("eps") > 0))
    op.error("eps must be positive");
  return {x};
}

void evalBatchStats(const Op &op, const std::vector<const float *> &in,
                    const std::vector<float *> &out) {
  const Shape &x = op.operand(0)->shape;
  int64_t n = x[0], c = x[1], inner = op.operand(0)->numElements() / (n * c);
  double eps = float(op.getFloat("eps"));
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0, sq = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i)
        sum += in[0][(b * c + ch) * inner + i];
    double mean = sum / double(n * inner);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) {
        double d = in[0][(b * c + ch) * inner + i] - mean;
        sq += d * d;
      }
    double invstd = 1.0 / std::sqrt(sq / double(n * inner) + eps);
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t at = (b * c + ch) * inner + i;
        double v = (in[0][at] - mean) * invstd;
        if (in.size() > 1 && in[1])
          v *= in[1][ch];
        if (in.size() > 2 && in[2])
          v += in[2][ch];
        out[0][at] = float(v);
      }
  }
}

std::vector<KernelCall> lowerBatchStats(const Op &op) {
  const Shape &x = op.operand(0)->shape;
  return {KernelCall{
      "batch_norm_batch_stats", "BatchStatsParams",
      KernelParam::group(
          "", {KernelParam::integer("n", x[0]),
               KernelParam::integer("channels", x[1]),
               KernelParam::integer("inner", op.operand(0)->numElements() /
                                                 (x[0] * x[1])),
               KernelParam::real("eps", op.getFloat("eps"))})}};
}

} // namespace

extern const OpDef kSoftmaxOp = {.name = "softmax",
                                 .operands = {{"input"}},
                                 .attrs = {{"dim", AttrKind::Int}},
                                 .inferShapes = inferSoftmax,
                                 .evaluate = evalSoftmax,
                                 .lower = lowerSoftmax,
                                 .macs = macsElementwise};

extern const OpDef kLogSoftmaxOp = {.name = "log_softmax",
                                    .operands = {{"input"}},
                                    .attrs = {{"dim", AttrKind::Int}},
                                    .inferShapes = inferSoftmax,
                                    .evaluate = evalSoftmax,
                                    .lower = lowerSoftmax,
                                    .macs = macsElementwise};

extern const OpDef kLocalResponseNormOp = {.name = "local_response_norm",
                                           .operands = {{"input"}},
                                           .attrs = {{"alpha", AttrKind::Float},
                                                     {"beta", AttrKind::Float},
                                                     {"k", AttrKind::Float},
                                                     {"size", AttrKind::Int}},
                                           .inferShapes = inferLrn,
                                           .evaluate = evalLrn,
                                           .lower = lowerLrn,
                                           .macs = macsElementwise};

extern const OpDef kBatchNormBatchStatsOp = {
    .name = "batch_norm_batch_stats",
    .operands = {{"input"}, {"weight", true}, {"bias", true}},
    .attrs = {{"eps", AttrKind::Float}},
    .inferShapes = inferBatchStats,
    .evaluate = evalBatchStats,
    .lower = lowerBatchStats,
    .macs = macsElementwise};

} // namespace kiln::ops
