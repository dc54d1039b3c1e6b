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
#include "runtime/kiln/kernels/conv_gemm.h"
#include "ir/ops/conv_common.h"
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"

namespace kiln::ops {
namespace {

ConvGeom geometry(const Op &op) {
  const auto &pad = op.getInts("padding");
  return convGeometry(op, op.getInts("kernel"),
                      {pad.begin(), pad.begin() + long(pad.size() / 2)});
}

/// Inputs per output channel (K of the GEMM).
int64_t reduction(const std::vector<int64_t> &kernel) {
  int64_t k = 1;
  for (size_t i = 1; i < kernel.size(); ++i)
    k *= kernel[i];
  return k;
}

std::vector<Shape> inferConvGemm(const Op &op) {
  const auto &kernel = op.getInts("kernel");
  checkInts(op, "kernel", op.getInts("stride").size() + 2, 1);
  Shape out = convShape(op, kernel);
  int64_t groups = op.getInt("groups"), mr = op.getInt("mr"),
          kc = op.getInt("kc"), nr = op.getInt("nr");
  if (!kiln_rt::is_block_height(int(mr)))
    op.error("mr must be 4, 6, 8, 12 or 16, found " + std::to_string(mr));
  if (kc < 1 || kc > (1 << 20))
    op.error("kc must be in [1, 2^20], found " + std::to_string(kc));
  if (nr < 1 || nr > 64)
    op.error("nr must be in [1, 64], found " + std::to_string(nr));
  int64_t coutG = kernel[0] / groups;
  Shape packed = {groups, kiln_rt::packed_blocks(int(coutG), int(mr)),
                  reduction(kernel), mr};
  if (operandShape(op, 1) != packed)
    op.error("packed weight shape " + shapeToString(op.operand(1)->shape) +
             " is not " + shapeToString(packed) +
             " ([groups, blocks, K, mr] for kernel " + shapeToString(kernel) +
             ")");
  return {out};
}

/// The packed weights of `op` back in PyTorch's layout.
std::vector<float> unpack(const Op &op, const float *packed) {
  const auto &kernel = op.getInts("kernel");
  int groups = int(op.getInt("groups"));
  int64_t k = reduction(kernel);
  std::vector<float> w(size_t(kernel[0] * k));
  kiln_rt::for_each_blocked(
      groups, int(kernel[0]) / groups, k, int(op.getInt("mr")),
      [&](int64_t plain, int64_t at) { w[size_t(plain)] = packed[at]; });
  return w;
}

void evalConvGemm(const Op &op, const std::vector<const float *> &in,
                  const std::vector<float *> &out) {
  std::vector<float> w = unpack(op, in[1]);
  referenceConv(geometry(op), in[0], w.data(), in.size() > 2 ? in[2] : nullptr,
                out[0]);
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
  kiln_rt::ConvGemmParams p = {};
  p.cin = int(g.cin);
  p.cout = int(g.cout);
  p.groups = int(g.groups);
  for (int i = 0; i < 3; ++i) {
    p.k[i] = int(g.k[i]);
    p.out[i] = int(g.out[i]);
  }
  p.kc = int(kc);
  p.nr = int(nr);
  call.scratchBytes =
      int64_t(kiln_rt::conv_gemm_scratch_floats(p)) * int64_t(sizeof(float));
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
