// Op `linear`: y = x W^T + b over the last dimension of an input of any rank.
//   operands: input [..., in], weight [out, in], bias [out]?, residual?
//   attrs: activation?, act_a?, act_b? (fused epilogue)
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"

namespace kiln::ops {
namespace {

std::vector<Shape> inferLinear(const Op &op) {
  const Shape &x = operandShape(op, 0);
  const Shape &w = operandShape(op, 1, 2);
  if (x.empty())
    op.error("expected an input of rank >= 1, found a 0-d tensor");
  if (x.back() != w[1])
    op.error("input shape " + shapeToString(x) + " has " +
             std::to_string(x.back()) +
             " features in its last dim, the weight " + shapeToString(w) +
             " expects " + std::to_string(w[1]));
  if (Value *b = op.operand(2); b && b->shape != Shape{w[0]})
    op.error("bias shape " + shapeToString(b->shape) + " does not match [" +
             std::to_string(w[0]) + "]");
  Shape y = x;
  y.back() = w[0];
  verifyEpilogue(op, 3, y);
  return {y};
}

void evalLinear(const Op &op, const std::vector<const float *> &in,
                const std::vector<float *> &out) {
  const Shape &w = op.operand(1)->shape;
  int64_t nOut = w[0], nIn = w[1];
  int64_t rows = op.operand(0)->numElements() / nIn;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < nOut; ++o) {
      double acc = in.size() > 2 ? in[2][o] : 0.0;
      for (int64_t i = 0; i < nIn; ++i)
        acc += double(in[0][r * nIn + i]) * in[1][o * nIn + i];
      out[0][r * nOut + o] = float(acc);
    }
  applyEpilogue(op, in.size() > 3 ? in[3] : nullptr, out[0],
                op.result()->numElements());
}

int64_t outChannel(const Op &op, int64_t flat) {
  return flat / op.operand(1)->shape[1];
}

bool foldAffine(Op &op, Graph &g, const std::vector<double> &scale,
                const std::vector<double> &shift) {
  // Per-channel maps act on dim 1; the output features are the last dim.
  if (op.result()->shape.size() != 2)
    return false;
  return foldAffineIntoWeights(op, g, scale, shift, outChannel);
}

std::vector<KernelCall> lowerLinear(const Op &op) {
  const Shape &w = op.operand(1)->shape;
  return {KernelCall{
      "linear",
      "LinearParams",
      KernelParam::group(
          "",
          {KernelParam::integer("rows", op.operand(0)->numElements() / w[1]),
           KernelParam::integer("in", w[1]), KernelParam::integer("out", w[0]),
           epilogueParam(op)}),
      {0, 1, 2, 3, -1}}};
}

int64_t macsLinear(const Op &op) {
  return op.operand(0)->numElements() * op.operand(1)->shape[0];
}

} // namespace

extern const OpDef kLinearOp = {
    .name = "linear",
    .operands = {{"input"}, {"weight"}, {"bias", true}, {"residual", true}},
    .attrs = epilogueAttrs(),
    .inferShapes = inferLinear,
    .evaluate = evalLinear,
    .lower = lowerLinear,
    .macs = macsLinear,
    .fusableEpilogue = true,
    .foldChannelAffine = foldAffine,
};

} // namespace kiln::ops
