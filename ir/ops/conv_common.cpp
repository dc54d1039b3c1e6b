// What conv and conv_transpose share.
#include "ir/ops/conv_common.h"

#include "ir/op_registry.h"
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"
#include "runtime/kiln/kernels/packing.h"
#include "support/error.h"

#include <algorithm>

namespace kiln::ops {

ConvGeom convGeometry(const Op &op, const Shape &kernel,
                      const std::vector<int64_t> &padBegin) {
  const Shape &x = op.operand(0)->shape, &y = op.result()->shape;
  return {slots({x.begin() + 2, x.end()}, 1),
          slots({y.begin() + 2, y.end()}, 1),
          slots({kernel.begin() + 2, kernel.end()}, 1),
          slots(op.getInts("stride"), 1),
          slots(padBegin, 0),
          slots(op.getInts("dilation"), 1),
          x[0],
          x[1],
          y[1],
          op.getInt("groups")};
}

ConvGeom convGeometry(const Op &op, const std::vector<int64_t> &padBegin) {
  return convGeometry(op, op.operand(1)->shape, padBegin);
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
  return {KernelCall{
      kernel, "ConvParams", KernelParam::group("", fields), {0, 1, 2, 3, -1}}};
}

int64_t transposeColumns(const std::vector<int64_t> &kernel) {
  int64_t c = 1;
  for (size_t i = 1; i < kernel.size(); ++i)
    c *= kernel[i];
  return c;
}

Shape inferPackedConvTranspose(const Op &op,
                               Shape (*packed)(const std::vector<int64_t> &,
                                               int64_t, int64_t),
                               const char *layout) {
  const auto &kernel = op.getInts("kernel");
  checkInts(op, "kernel", op.getInts("stride").size() + 2, 1);
  int64_t mr = op.getInt("mr"), groups = op.getInt("groups");
  if (!kiln_rt::is_block_height(int(mr)))
    op.error("mr must be 4, 6, 8, 12 or 16, found " + std::to_string(mr));
  Shape out = convTransposeShape(op, kernel);
  Shape want = packed(kernel, groups, mr);
  if (operandShape(op, 1) != want)
    op.error("packed weight shape " + shapeToString(op.operand(1)->shape) +
             " is not " + shapeToString(want) + " (" + layout + " for kernel " +
             shapeToString(kernel) + ")");
  return out;
}

void evalPackedConvTranspose(const Op &op, const std::vector<const float *> &in,
                             const std::vector<float *> &out,
                             void (*unpack)(const Op &, const float *,
                                            float *)) {
  const auto &kernel = op.getInts("kernel");
  std::vector<float> w(size_t(kernel[0] * transposeColumns(kernel)));
  unpack(op, in[1], w.data());
  referenceConvTranspose(convGeometry(op, kernel, op.getInts("padding")), in[0],
                         w.data(), in.size() > 2 ? in[2] : nullptr, out[0]);
  applyEpilogue(op, in.size() > 3 ? in[3] : nullptr, out[0],
                op.result()->numElements());
}

std::vector<AttrSpec> packedConvTransposeAttrs() {
  return withEpilogueAttrs({{"dilation", AttrKind::Ints},
                            {"groups", AttrKind::Int},
                            {"kernel", AttrKind::Ints},
                            {"mr", AttrKind::Int},
                            {"output_padding", AttrKind::Ints},
                            {"padding", AttrKind::Ints},
                            {"stride", AttrKind::Ints}});
}

int64_t macsPackedConvTranspose(const Op &op) {
  return op.operand(0)->numElements() * transposeColumns(op.getInts("kernel"));
}

std::vector<KernelCall> convTransposeGemmCall(const Op &op,
                                              const std::string &kernel,
                                              int64_t scratchFloats) {
  ConvGeom g = convGeometry(op, op.getInts("kernel"), op.getInts("padding"));
  std::vector<KernelParam> fields = geometryFields(g);
  fields.push_back(KernelParam::integer("mr", op.getInt("mr")));
  fields.push_back(epilogueParam(op));
  KernelCall call{kernel,
                  "ConvTransposeGemmParams",
                  KernelParam::group("", fields),
                  {0, 1, 2, 3, -1, KernelCall::kScratchArg}};
  call.scratchBytes = scratchFloats * int64_t(sizeof(float));
  return {call};
}

int chooseBlockHeight(int64_t rows, const TileTarget &t) {
  int best = 4;
  int64_t bestPad = -1;
  for (int mr : kiln_rt::kBlockHeights) {
    if (mr > t.maxRows && mr != 4)
      continue;
    int64_t pad = (rows + mr - 1) / mr * mr - rows;
    if (bestPad < 0 || pad <= bestPad) {
      best = mr;
      bestPad = pad;
    }
  }
  return best;
}

int chooseKChunk(int64_t k, const TileTarget &t) {
  int64_t kc = std::max<int64_t>(16, t.l1Bytes / 2 / (t.tileCols() * 4));
  if (k <= kc + kc / 2)
    return int(k);
  int64_t chunks = (k + kc - 1) / kc;
  return int((k + chunks - 1) / chunks);
}

Op *replaceWithPacked(Graph &g, Op &op, const char *def, Value *packed,
                      const AttrMap &extra) {
  AttrMap attrs = op.attrs;
  const Shape &w = op.operand(1)->shape;
  attrs["kernel"] = std::vector<int64_t>(w.begin(), w.end());
  for (const auto &[k, v] : extra)
    attrs[k] = v;
  std::vector<Value *> operands = op.operands;
  operands[1] = packed;
  const OpDef *d = findOp(def);
  KILN_ASSERT(d, std::string(def) + " is in the op table");
  Op *lowered = g.addOp(*d, operands, attrs, op.loc, op.result()->name);
  g.replaceAllUsesWith(op.result(), lowered->result());
  lowered->result()->name = op.result()->name;
  return lowered;
}

} // namespace kiln::ops
