// Helpers shared by op definitions.
#include "ir/ops/op_helpers.h"

#include "support/error.h"

#include <cstring>

namespace kiln::ops {

const Shape &operandShape(const Op &op, size_t i, int rank) {
  Value *v = op.operand(i);
  KILN_ASSERT(v, std::string(op.name()) + " is missing operand " +
                     std::to_string(i));
  if (rank >= 0 && int(v->shape.size()) != rank)
    op.error(std::string("expected ") + op.def->operands[i].name + " of rank " +
             std::to_string(rank) + ", found shape " + shapeToString(v->shape));
  return v->shape;
}

std::array<int64_t, 3> slots(const std::vector<int64_t> &v, int64_t fill) {
  KILN_ASSERT(v.size() <= 3, "more than three spatial dims");
  std::array<int64_t, 3> r = {fill, fill, fill};
  for (size_t i = 0; i < v.size(); ++i)
    r[3 - v.size() + i] = v[i];
  return r;
}

int64_t convOutSize(const Op &op, size_t dim, int64_t in, int64_t kernel,
                    int64_t stride, int64_t padBegin, int64_t padEnd,
                    int64_t dilation) {
  int64_t span = dilation * (kernel - 1) + 1;
  int64_t padded = in + padBegin + padEnd;
  if (padded < span)
    op.error("input shape " + shapeToString(op.operand(0)->shape) +
             ", spatial dim " + std::to_string(dim) + ": input size " +
             std::to_string(in) + " with padding " + std::to_string(padBegin) +
             "+" + std::to_string(padEnd) +
             " is smaller than the kernel span " + std::to_string(span) +
             " (kernel " + std::to_string(kernel) + ", dilation " +
             std::to_string(dilation) + "): the output size would be below 1");
  return (padded - span) / stride + 1;
}

int64_t poolOutSize(const Op &op, size_t dim, int64_t in, int64_t kernel,
                    int64_t stride, int64_t pad, int64_t dilation,
                    bool ceilMode) {
  int64_t span = dilation * (kernel - 1) + 1;
  int64_t num = in + 2 * pad - span + (ceilMode ? stride - 1 : 0);
  // Floor division (PyTorch's div_rtn).
  int64_t q = num >= 0 ? num / stride : -((-num + stride - 1) / stride);
  int64_t out = q + 1;
  if (ceilMode && (out - 1) * stride >= in + pad)
    --out;
  if (out < 1)
    op.error("input shape " + shapeToString(op.operand(0)->shape) +
             ", spatial dim " + std::to_string(dim) + ": input size " +
             std::to_string(in) + " with padding " + std::to_string(pad) +
             " is smaller than the kernel span " + std::to_string(span) +
             ": the output size would be " + std::to_string(out));
  return out;
}

const Shape &checkChannelOperands(const Op &op) {
  const Shape &x = operandShape(op, 0);
  if (x.size() < 2)
    op.error("expected an input of rank >= 2, found shape " + shapeToString(x));
  for (size_t i = 1; i < op.operands.size(); ++i)
    if (Value *v = op.operand(i); v && v->shape != Shape{x[1]})
      op.error(std::string(op.def->operands[i].name) + " shape " +
               shapeToString(v->shape) + " does not match the input's " +
               std::to_string(x[1]) + " channels");
  return x;
}

void checkInts(const Op &op, const char *attr, size_t n, int64_t min) {
  const auto &v = op.getInts(attr);
  if (v.size() != n)
    op.error(std::string(attr) + " must have " + std::to_string(n) +
             " entries, found " + shapeToString(v));
  for (int64_t x : v)
    if (x > kMaxElements)
      op.error(std::string(attr) + " entries must be below 2^31, found " +
               shapeToString(v));
  for (int64_t x : v)
    if (x < min)
      op.error(std::string(attr) + " entries must be >= " +
               std::to_string(min) + ", found " + shapeToString(v));
}

KernelParam slotParam(const char *name, const std::vector<int64_t> &v,
                      int64_t fill) {
  auto s = slots(v, fill);
  return KernelParam::array(name, {s.begin(), s.end()});
}

bool foldAffineIntoWeights(Op &op, Graph &g, const std::vector<double> &scale,
                           const std::vector<double> &shift,
                           int64_t (*channelOf)(const Op &op, int64_t flat)) {
  Value *w = op.operand(1), *b = op.operand(2);
  if (!w->isWeight() || (b && !b->isWeight()))
    return false;
  auto nw = std::make_shared<std::vector<float>>(w->data->size());
  for (size_t i = 0; i < nw->size(); ++i)
    (*nw)[i] = float((*w->data)[i] * scale[size_t(channelOf(op, int64_t(i)))]);
  auto nb = std::make_shared<std::vector<float>>(shift.size());
  for (size_t c = 0; c < shift.size(); ++c)
    (*nb)[c] = float((b ? (*b->data)[c] : 0.0) * scale[c] + shift[c]);
  op.operands[1] = g.addWeight(w->name + ".folded", w->shape, nw);
  Value *bias =
      g.addWeight((b ? b->name : op.result()->name + ".bias") + ".folded",
                  {int64_t(shift.size())}, nb);
  if (op.operands.size() < 3)
    op.operands.resize(3, nullptr);
  op.operands[2] = bias;
  return true;
}

void storeIndex(float *slot, int64_t index) {
  int32_t v = int32_t(index);
  std::memcpy(slot, &v, 4);
}

int64_t loadIndex(const float *slot) {
  int32_t v;
  std::memcpy(&v, slot, 4);
  return v;
}

KernelParam noEpilogue() {
  return KernelParam::group("ep", {KernelParam::integer("act", 0),
                                   KernelParam::real("a", 0),
                                   KernelParam::real("b", 0)});
}

} // namespace kiln::ops
