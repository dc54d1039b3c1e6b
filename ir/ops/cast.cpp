// Op `indices_to_float` (indices: i32) -> f32: max-pooling indices as float
// values, for a model that returns them (the compiled program's outputs are
// float32). Exact while a plane has fewer than 2^24 elements, which shape
// inference checks.
#include "ir/ops/op_helpers.h"

namespace kiln::ops {
namespace {

constexpr int64_t kExactFloatInts = int64_t(1) << 24;

std::vector<Shape> inferCast(const Op &op) {
  const Shape &x = operandShape(op, 0);
  Value *src = op.operand(0);
  while (src->producer && src->producer->def->isView)
    src = src->producer->operand(0);
  // The indices are offsets within the planes of the pooled input.
  if (src->producer) {
    const Shape &in = src->producer->operand(0)->shape;
    int64_t plane = in.size() > 2 ? numElements({in.begin() + 2, in.end()}) : 1;
    if (plane >= kExactFloatInts)
      op.error("indices into planes of " + std::to_string(plane) +
               " elements cannot be returned exactly as float32 (2^24 "
               "elements at most)");
  }
  return {x};
}

void evalCast(const Op &op, const std::vector<const float *> &in,
              const std::vector<float *> &out) {
  for (int64_t i = 0; i < op.result()->numElements(); ++i)
    out[0][i] = float(loadIndex(in[0] + i));
}

std::vector<KernelCall> lowerCast(const Op &op) {
  return {KernelCall{
      "indices_to_float", "IndexCastParams",
      KernelParam::group(
          "", {KernelParam::integer("count", op.result()->numElements())})}};
}

} // namespace

extern const OpDef kIndicesToFloatOp = {
    .name = "indices_to_float",
    .operands = {{"indices", false, false, ElemType::I32}},
    .inferShapes = inferCast,
    .evaluate = evalCast,
    .lower = lowerCast};

} // namespace kiln::ops
