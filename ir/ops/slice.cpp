// Op `slice`: the range start, start + step, ... (below end) of one dim
// (the pieces of torch.chunk and torch.split). Data moves: the result is
// contiguous.
//   operands: input
//   attrs: dim, start, end, step (0 <= dim < rank, 0 <= start < end <= the
//          dim's size, step >= 1)
#include "ir/ops/op_helpers.h"

#include <algorithm>

namespace kiln::ops {
namespace {

std::vector<Shape> inferSlice(const Op &op) {
  const Shape &x = operandShape(op, 0);
  int64_t d = op.getInt("dim"), start = op.getInt("start"),
          end = op.getInt("end"), step = op.getInt("step");
  if (d < 0 || d >= int64_t(x.size()))
    op.error("dim " + std::to_string(d) + " is out of range for shape " +
             shapeToString(x));
  int64_t n = x[size_t(d)];
  if (start < 0 || start >= end || end > n)
    op.error("range [" + std::to_string(start) + ", " + std::to_string(end) +
             ") is not a non-empty range within dim " + std::to_string(d) +
             " (size " + std::to_string(n) + ") of shape " + shapeToString(x));
  if (step < 1)
    op.error("step must be >= 1, found " + std::to_string(step));
  Shape y = x;
  y[size_t(d)] = 1 + (end - start - 1) / step;
  return {y};
}

/// x as [outer][dim][inner] around the sliced dim.
struct SliceGeom {
  int64_t outer, dim, inner, start, step, count;
};

SliceGeom geometry(const Op &op) {
  const Shape &x = op.operand(0)->shape;
  size_t d = size_t(op.getInt("dim"));
  int64_t outer = 1, inner = 1;
  for (size_t i = 0; i < x.size(); ++i)
    if (i < d)
      outer *= x[i];
    else if (i > d)
      inner *= x[i];
  int64_t count = op.result()->shape[d];
  // One element: the step does not matter (and may exceed int32).
  return {outer,
          x[d],
          inner,
          op.getInt("start"),
          count == 1 ? 1 : op.getInt("step"),
          count};
}

void evalSlice(const Op &op, const std::vector<const float *> &in,
               const std::vector<float *> &out) {
  SliceGeom g = geometry(op);
  float *y = out[0];
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t i = 0; i < g.count; ++i) {
      const float *src = in[0] + (o * g.dim + g.start + i * g.step) * g.inner;
      y = std::copy(src, src + g.inner, y);
    }
}

std::vector<KernelCall> lowerSlice(const Op &op) {
  SliceGeom g = geometry(op);
  return {KernelCall{
      "slice_range", "SliceRangeParams",
      KernelParam::group("", {KernelParam::integer("outer", g.outer),
                              KernelParam::integer("dim", g.dim),
                              KernelParam::integer("inner", g.inner),
                              KernelParam::integer("start", g.start),
                              KernelParam::integer("step", g.step),
                              KernelParam::integer("count", g.count)})}};
}

bool sliceIsNoop(const Op &op) {
  return op.result()->shape == op.operand(0)->shape;
}

} // namespace

extern const OpDef kSliceOp = {.name = "slice",
                               .operands = {{"input"}},
                               .attrs = {{"dim", AttrKind::Int},
                                         {"start", AttrKind::Int},
                                         {"end", AttrKind::Int},
                                         {"step", AttrKind::Int}},
                               .inferShapes = inferSlice,
                               .evaluate = evalSlice,
                               .lower = lowerSlice,
                               .isNoop = sliceIsNoop};

} // namespace kiln::ops
