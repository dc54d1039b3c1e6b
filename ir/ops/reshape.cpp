// Op `reshape`: the same elements under another static shape (a view: no
// data moves). attrs: shape (fully resolved, no -1).
#include "ir/ops/op_helpers.h"

#include <algorithm>

namespace kiln::ops {
namespace {

std::vector<Shape> inferReshape(const Op &op) {
  const Shape &x = operandShape(op, 0);
  const auto &s = op.getInts("shape");
  if (std::any_of(s.begin(), s.end(), [](int64_t d) { return d < 1; }))
    op.error("shape " + shapeToString(s) + " has a dimension below 1");
  if (numElements(s) != numElements(x))
    op.error("cannot view input of shape " + shapeToString(x) + " (" +
             std::to_string(numElements(x)) + " elements) as shape " +
             shapeToString(s) + " (" + std::to_string(numElements(s)) +
             " elements)");
  return {s};
}

void evalReshape(const Op &op, const std::vector<const float *> &in,
                 const std::vector<float *> &out) {
  std::copy(in[0], in[0] + op.result()->numElements(), out[0]);
}

} // namespace

extern const OpDef kReshapeOp = {.name = "reshape",
                                 .operands = {{"input"}},
                                 .attrs = {{"shape", AttrKind::Ints}},
                                 .isView = true,
                                 .inferShapes = inferReshape,
                                 .evaluate = evalReshape};

} // namespace kiln::ops
