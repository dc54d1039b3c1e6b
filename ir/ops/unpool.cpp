// Op `max_unpool`: the inverse of max pooling with indices — each input
// value goes to the flat offset its index names in the output plane, the
// rest is 0.
//   operands: input [N, C, S...], indices (i32, same shape)
//   attrs: output_size [o...] (spatial, resolved)
#include "ir/ops/op_helpers.h"

namespace kiln::ops {
namespace {

std::vector<Shape> inferUnpool(const Op &op) {
  const auto &o = op.getInts("output_size");
  size_t ns = o.size();
  if (ns < 1 || ns > 3)
    op.error("expected 1 to 3 spatial dims, found " + std::to_string(ns));
  checkInts(op, "output_size", ns, 1);
  const Shape &x = operandShape(op, 0, int(ns) + 2);
  const Shape &i = operandShape(op, 1);
  if (i != x)
    op.error("indices shape " + shapeToString(i) +
             " does not match the input shape " + shapeToString(x));
  Shape y = {x[0], x[1]};
  y.insert(y.end(), o.begin(), o.end());
  return {y};
}

void evalUnpool(const Op &op, const std::vector<const float *> &in,
                const std::vector<float *> &out) {
  const Shape &x = op.operand(0)->shape;
  int64_t planes = x[0] * x[1];
  int64_t inPlane = op.operand(0)->numElements() / planes;
  int64_t outPlane = op.result()->numElements() / planes;
  std::fill(out[0], out[0] + planes * outPlane, 0.0f);
  for (int64_t c = 0; c < planes; ++c)
    for (int64_t i = 0; i < inPlane; ++i) {
      int64_t at = loadIndex(in[1] + c * inPlane + i);
      if (at >= 0 && at < outPlane)
        out[0][c * outPlane + at] = in[0][c * inPlane + i];
    }
}

std::vector<KernelCall> lowerUnpool(const Op &op) {
  const Shape &x = op.operand(0)->shape;
  int64_t planes = x[0] * x[1];
  return {KernelCall{
      "max_unpool", "UnpoolParams",
      KernelParam::group(
          "", {KernelParam::integer("planes", planes),
               KernelParam::integer("in_plane",
                                    op.operand(0)->numElements() / planes),
               KernelParam::integer("out_plane",
                                    op.result()->numElements() / planes)})}};
}

} // namespace

extern const OpDef kMaxUnpoolOp = {
    .name = "max_unpool",
    .operands = {{"input"}, {"indices", false, false, ElemType::I32}},
    .attrs = {{"output_size", AttrKind::Ints}},
    .inferShapes = inferUnpool,
    .evaluate = evalUnpool,
    .lower = lowerUnpool};

} // namespace kiln::ops
