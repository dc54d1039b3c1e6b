// Op `conv_gemm`: a `conv` whose weights the pack-weights pass has packed at
// compile time into the layout of the runtime's GEMM kernel (blocks of `mr`
// output channels, runtime/kiln/kernels/packing.h).
//   operands: input [N, Cin, S...], weight [groups, blocks, K, mr] (packed),
//             bias [Cout]?, residual [N, Cout, S'...]? (fused `add`)
//   attrs: kernel (the unpacked weight shape [Cout, Cin/groups, k...]),
//          stride, padding [begin..., end...], dilation, groups as `conv`;
//          mr (block of output channels: 4, 6, 8, 12 or 16), kc (k chunk)
//          and nr (strip width) the scratch is planned for;
//          activation?, act_a?, act_b? (fused epilogue)
#include "ir/ops/conv_common.h"
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"
#include "runtime/kiln/kernels/conv_gemm.h"

namespace kiln::ops {
namespace {

/// The block heights the runtime has a kernel for (conv_gemm_mrN).
bool supportedMr(int64_t mr) {
  return mr == 4 || mr == 6 || mr == 8 || mr == 12 || mr == 16;
}

ConvGeom geometry(const Op &op) {
  const Shape &x = op.operand(0)->shape, &y = op.result()->shape;
  const auto &kernel = op.getInts("kernel"), &pad = op.getInts("padding");
  return {slots({x.begin() + 2, x.end()}, 1),
          slots({y.begin() + 2, y.end()}, 1),
          slots({kernel.begin() + 2, kernel.end()}, 1),
          slots(op.getInts("stride"), 1),
          slots({pad.begin(), pad.begin() + long(pad.size() / 2)}, 0),
          slots(op.getInts("dilation"), 1),
          x[0],
          x[1],
          y[1],
          op.getInt("groups")};
}

/// Inputs per output channel (K of the GEMM).
int64_t reduction(const std::vector<int64_t> &kernel) {
  int64_t k = 1;
  for (size_t i = 1; i < kernel.size(); ++i)
    k *= kernel[i];
  return k;
}

std::vector<Shape> inferConvGemm(const Op &op) {
  size_t ns = op.getInts("stride").size();
  if (ns < 1 || ns > 3)
    op.error("expected 1 to 3 spatial dims, found " + std::to_string(ns));
  checkInts(op, "stride", ns, 1);
  checkInts(op, "dilation", ns, 1);
  checkInts(op, "padding", 2 * ns, 0);
  checkInts(op, "kernel", ns + 2, 1);
  const Shape &x = operandShape(op, 0, int(ns) + 2);
  const auto &kernel = op.getInts("kernel");
  int64_t groups = op.getInt("groups"), mr = op.getInt("mr"),
          kc = op.getInt("kc");
  int64_t cout = kernel[0];
  if (groups < 1 || x[1] % groups != 0 || cout % groups != 0 ||
      kernel[1] * groups != x[1])
    op.error("groups " + std::to_string(groups) + " do not fit the input's " +
             std::to_string(x[1]) + " channels and the kernel " +
             shapeToString(kernel));
  if (!supportedMr(mr))
    op.error("mr must be 4, 6, 8, 12 or 16, found " + std::to_string(mr));
  if (kc < 1 || kc > (1 << 20))
    op.error("kc must be in [1, 2^20], found " + std::to_string(kc));
  int64_t nr = op.getInt("nr");
  if (nr < 1 || nr > 64)
    op.error("nr must be in [1, 64], found " + std::to_string(nr));
  int64_t coutG = cout / groups;
  Shape packed = {groups, (coutG + mr - 1) / mr, reduction(kernel), mr};
  if (operandShape(op, 1) != packed)
    op.error("packed weight shape " + shapeToString(op.operand(1)->shape) +
             " is not " + shapeToString(packed) +
             " ([groups, blocks, K, mr] for kernel " + shapeToString(kernel) +
             ")");
  if (Value *b = op.operand(2); b && b->shape != Shape{cout})
    op.error("bias shape " + shapeToString(b->shape) + " does not match [" +
             std::to_string(cout) + "]");
  const auto &s = op.getInts("stride"), &p = op.getInts("padding"),
             &d = op.getInts("dilation");
  Shape out = {x[0], cout};
  for (size_t i = 0; i < ns; ++i)
    out.push_back(convOutSize(op, i, x[2 + i], kernel[2 + i], s[i], p[i],
                              p[ns + i], d[i]));
  verifyEpilogue(op, 3, out);
  return {out};
}

/// The packed weights of `op` back in PyTorch's layout.
std::vector<float> unpack(const Op &op, const float *packed) {
  const auto &kernel = op.getInts("kernel");
  int groups = int(op.getInt("groups")), mr = int(op.getInt("mr"));
  int coutG = int(kernel[0]) / groups;
  int64_t k = reduction(kernel);
  std::vector<float> w(size_t(kernel[0] * k));
  for (int g = 0; g < groups; ++g)
    for (int oc = 0; oc < coutG; ++oc)
      for (int64_t kk = 0; kk < k; ++kk)
        w[size_t((int64_t(g) * coutG + oc) * k + kk)] =
            packed[kiln_rt::packed_weight_offset(coutG, k, mr, g, oc, kk)];
  return w;
}

void evalConvGemm(const Op &op, const std::vector<const float *> &in,
                  const std::vector<float *> &out) {
  std::vector<float> w = unpack(op, in[1]);
  referenceConv(geometry(op), in[0], w.data(),
                in.size() > 2 ? in[2] : nullptr, out[0]);
  applyEpilogue(op, in.size() > 3 ? in[3] : nullptr, out[0],
                op.result()->numElements());
}

std::vector<KernelCall> lowerConvGemm(const Op &op) {
  ConvGeom g = geometry(op);
  int64_t kc = op.getInt("kc"), nr = op.getInt("nr");
  std::vector<KernelParam> fields = geometryFields(g);
  fields.push_back(KernelParam::integer("mr", op.getInt("mr")));
  fields.push_back(KernelParam::integer("kc", kc));
  fields.push_back(KernelParam::integer("nr", nr));
  fields.push_back(epilogueParam(op));
  KernelCall call{"conv_gemm_mr" + std::to_string(op.getInt("mr")),
                  "ConvGemmParams",
                  KernelParam::group("", fields),
                  {0, 1, 2, 3, -1, KernelCall::kScratchArg}};
  call.scratchBytes =
      int64_t(kiln_rt::conv_gemm_scratch_floats(int(kc), int(nr))) *
      int64_t(sizeof(float));
  return {call};
}

int64_t macsConvGemm(const Op &op) {
  return numElements(op.result()->shape) * reduction(op.getInts("kernel"));
}

} // namespace

extern const OpDef kConvGemmOp = {
    .name = "conv_gemm",
    .operands = {{"input"}, {"weight"}, {"bias", true}, {"residual", true}},
    .attrs = withEpilogueAttrs({{"dilation", AttrKind::Ints},
                                {"groups", AttrKind::Int},
                                {"kc", AttrKind::Int},
                                {"kernel", AttrKind::Ints},
                                {"mr", AttrKind::Int},
                                {"nr", AttrKind::Int},
                                {"padding", AttrKind::Ints},
                                {"stride", AttrKind::Ints}}),
    .inferShapes = inferConvGemm,
    .evaluate = evalConvGemm,
    .lower = lowerConvGemm,
    .macs = macsConvGemm,
    .fusableEpilogue = true,
};

} // namespace kiln::ops
