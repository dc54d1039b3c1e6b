// View ops (no data moves):
//   reshape (input) {shape}: the same elements under another static shape
//     (fully resolved, no -1)
//   identity (input): the input itself (Identity and Dropout layers at
//     inference; removed by the remove-noops pass)
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

bool reshapeIsNoop(const Op &op) {
  return op.result()->shape == op.operand(0)->shape;
}

std::vector<Shape> inferIdentity(const Op &op) { return {operandShape(op, 0)}; }

bool always(const Op &) { return true; }

} // namespace

extern const OpDef kIdentityOp = {.name = "identity",
                                  .operands = {{"input"}},
                                  .isView = true,
                                  .inferShapes = inferIdentity,
                                  .evaluate = evalReshape,
                                  .isNoop = always};

extern const OpDef kReshapeOp = {.name = "reshape",
                                 .operands = {{"input"}},
                                 .attrs = {{"shape", AttrKind::Ints}},
                                 .isView = true,
                                 .inferShapes = inferReshape,
                                 .evaluate = evalReshape,
                                 .isNoop = reshapeIsNoop};

} // namespace kiln::ops
