// Normalisations with per-sample statistics over contiguous elements:
//   layer_norm (input, weight?, bias?) {normalized_shape, eps}: mean and
//     biased variance over the trailing dims normalized_shape; weight and
//     bias have shape normalized_shape (PyTorch's LayerNorm / F.layer_norm)
//   group_norm (input [N, C, *], weight [C]?, bias [C]?) {num_groups, eps}:
//     statistics per sample over each group of C / num_groups channels and
//     all spatial positions; weight and bias per channel (nn.GroupNorm)
// Neither is an affine map of its input (the statistics depend on the data),
// so neither offers channelAffine to fold-batchnorm.
#include "ir/ops/op_helpers.h"

#include <cmath>
#include <cstring>

namespace kiln::ops {
namespace {

bool isGroupNorm(const Op &op) {
  return std::strcmp(op.name(), "group_norm") == 0;
}

void checkEps(const Op &op) {
  double eps = op.getFloat("eps");
  if (!(eps >= 0) || !std::isfinite(eps))
    op.error("eps must be a finite number >= 0, found " +
             attrToString(Attr(eps)));
}

/// Checks that the present optional operands 1 and 2 have shape `want`.
void checkAffine(const Op &op, const Shape &want, const std::string &what) {
  for (size_t i = 1; i < 3; ++i)
    if (Value *v = op.operand(i); v && v->shape != want)
      op.error(std::string(op.def->operands[i].name) + " shape " +
               shapeToString(v->shape) + " does not match " + what + " " +
               shapeToString(want));
}

std::vector<Shape> inferLayerNorm(const Op &op) {
  const Shape &x = operandShape(op, 0);
  const auto &ns = op.getInts("normalized_shape");
  if (ns.empty())
    op.error("normalized_shape must have at least one dim");
  checkInts(op, "normalized_shape", ns.size(), 1);
  if (ns.size() > x.size() ||
      !std::equal(ns.begin(), ns.end(), x.end() - int64_t(ns.size())))
    op.error("normalized_shape " + shapeToString(ns) +
             " is not the trailing dims of the input shape " +
             shapeToString(x));
  checkAffine(op, ns, "normalized_shape");
  checkEps(op);
  return {x};
}

std::vector<Shape> inferGroupNorm(const Op &op) {
  const Shape &x = operandShape(op, 0);
  if (x.size() < 2)
    op.error("expected an input of rank >= 2 (N, C, ...), found shape " +
             shapeToString(x));
  int64_t g = op.getInt("num_groups");
  if (g < 1 || x[1] % g != 0)
    op.error("num_groups " + std::to_string(g) +
             " must be >= 1 and divide the input's " + std::to_string(x[1]) +
             " channels (input shape " + shapeToString(x) + ")");
  checkAffine(op, {x[1]}, "the input's channels");
  checkEps(op);
  return {x};
}

/// The row layout of the op: rows normalised independently, elements per
/// row, the number of groups the affine entries cycle through, and the
/// elements sharing one affine entry.
struct Rows {
  int64_t rows, cols, groups, inner;
};

Rows rowsOf(const Op &op) {
  const Shape &x = op.operand(0)->shape;
  int64_t n = numElements(x);
  if (isGroupNorm(op)) {
    int64_t g = op.getInt("num_groups");
    int64_t spatial = n / (x[0] * x[1]);
    return {x[0] * g, x[1] / g * spatial, g, spatial};
  }
  int64_t cols = numElements(op.getInts("normalized_shape"));
  return {n / cols, cols, 1, 1};
}

void evalRowNorm(const Op &op, const std::vector<const float *> &in,
                 const std::vector<float *> &out) {
  Rows r = rowsOf(op);
  const float *w = in.size() > 1 ? in[1] : nullptr;
  const float *b = in.size() > 2 ? in[2] : nullptr;
  double eps = float(op.getFloat("eps"));
  int64_t entries = r.cols / r.inner;
  for (int64_t row = 0; row < r.rows; ++row) {
    const float *x = in[0] + row * r.cols;
    float *y = out[0] + row * r.cols;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < r.cols; ++i)
      sum += x[i];
    double mean = sum / double(r.cols);
    for (int64_t i = 0; i < r.cols; ++i)
      sq += (x[i] - mean) * (x[i] - mean);
    double rstd = 1.0 / std::sqrt(sq / double(r.cols) + eps);
    for (int64_t i = 0; i < r.cols; ++i) {
      int64_t e = (row % r.groups) * entries + i / r.inner;
      double v = (x[i] - mean) * rstd;
      if (w)
        v *= w[e];
      if (b)
        v += b[e];
      y[i] = float(v);
    }
  }
}

std::vector<KernelCall> lowerRowNorm(const Op &op) {
  Rows r = rowsOf(op);
  return {KernelCall{
      "row_norm", "RowNormParams",
      KernelParam::group("", {KernelParam::integer("rows", r.rows),
                              KernelParam::integer("cols", r.cols),
                              KernelParam::integer("groups", r.groups),
                              KernelParam::integer("inner", r.inner),
                              KernelParam::real("eps", op.getFloat("eps"))})}};
}

/// Two passes for the statistics, one for the output.
int64_t macsRowNorm(const Op &op) { return 3 * op.result()->numElements(); }

} // namespace

extern const OpDef kLayerNormOp = {
    .name = "layer_norm",
    .operands = {{"input"}, {"weight", true}, {"bias", true}},
    .attrs = {{"eps", AttrKind::Float}, {"normalized_shape", AttrKind::Ints}},
    .inferShapes = inferLayerNorm,
    .evaluate = evalRowNorm,
    .lower = lowerRowNorm,
    .macs = macsRowNorm};

extern const OpDef kGroupNormOp = {
    .name = "group_norm",
    .operands = {{"input"}, {"weight", true}, {"bias", true}},
    .attrs = {{"eps", AttrKind::Float}, {"num_groups", AttrKind::Int}},
    .inferShapes = inferGroupNorm,
    .evaluate = evalRowNorm,
    .lower = lowerRowNorm,
    .macs = macsRowNorm};

} // namespace kiln::ops
