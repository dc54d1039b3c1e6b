// What conv and conv_transpose share.
#include "ir/ops/conv_common.h"

#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"

namespace kiln::ops {

ConvGeom convGeometry(const Op &op, const std::vector<int64_t> &padBegin) {
  const Shape &x = op.operand(0)->shape, &w = op.operand(1)->shape,
              &y = op.result()->shape;
  return {slots({x.begin() + 2, x.end()}, 1),
          slots({y.begin() + 2, y.end()}, 1),
          slots({w.begin() + 2, w.end()}, 1),
          slots(op.getInts("stride"), 1),
          slots(padBegin, 0),
          slots(op.getInts("dilation"), 1),
          x[0],
          x[1],
          y[1],
          op.getInt("groups")};
}

std::vector<KernelParam> geometryFields(const ConvGeom &g) {
  auto arr = [](const char *n, const std::array<int64_t, 3> &a) {
    return KernelParam::array(n, {a.begin(), a.end()});
  };
  return {KernelParam::integer("n", g.n),
          KernelParam::integer("cin", g.cin),
          KernelParam::integer("cout", g.cout),
          KernelParam::integer("groups", g.groups),
          arr("in", g.in),
          arr("out", g.out),
          arr("k", g.k),
          arr("stride", g.s),
          arr("pad", g.p),
          arr("dil", g.d)};
}

std::vector<KernelCall> convKernelCall(const Op &op, const char *kernel,
                                       const ConvGeom &g) {
  std::vector<KernelParam> fields = geometryFields(g);
  fields.push_back(epilogueParam(op));
  return {KernelCall{kernel, "ConvParams", KernelParam::group("", fields),
                     {0, 1, 2, 3, -1}}};
}

} // namespace kiln::ops
