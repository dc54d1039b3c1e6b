// Op `conv_transpose_phases`: a `conv_transpose` whose weights the
// pack-weights pass has packed at compile time in blocks of mr kernel taps
// for the runtime's taps-by-positions GEMM, summed into the output's stride
// phases (runtime/kiln/kernels/conv_transpose_phases.h; layout in
// packing.h, for_each_tap_blocked).
//   operands: input [N, Cin, S...], weight [groups, blocks, Cin/groups, mr]
//             (packed; blocks = ceil(Cout/groups x kernel volume / mr)),
//             bias [Cout]?, residual [N, Cout, S'...]?
//   attrs: kernel (the unpacked weight shape [Cin, Cout/groups, k...]),
//          stride, padding, output_padding, dilation, groups as
//          `conv_transpose`; mr (taps a block: 4, 6, 8, 12 or 16);
//          activation?, act_a?, act_b? (fused epilogue)
#include "runtime/kiln/kernels/conv_transpose_phases.h"
#include "ir/ops/conv_common.h"
#include "ir/ops/op_helpers.h"

namespace kiln::ops {
namespace {

Shape packedShape(const std::vector<int64_t> &kernel, int64_t groups,
                  int64_t mr) {
  return {groups,
          kiln_rt::packed_blocks(int(transposeColumns(kernel)), int(mr)),
          kernel[0] / groups, mr};
}

std::vector<Shape> inferConvTransposePhases(const Op &op) {
  return {inferPackedConvTranspose(op, packedShape,
                                   "[groups, blocks, Cin/groups, mr]")};
}

void unpack(const Op &op, const float *packed, float *w) {
  const auto &kernel = op.getInts("kernel");
  int groups = int(op.getInt("groups"));
  kiln_rt::for_each_tap_blocked(
      groups, transposeColumns(kernel), int(kernel[0]) / groups,
      int(op.getInt("mr")),
      [&](int64_t plain, int64_t at) { w[plain] = packed[at]; });
}

void evalConvTransposePhases(const Op &op, const std::vector<const float *> &in,
                             const std::vector<float *> &out) {
  evalPackedConvTranspose(op, in, out, unpack);
}

std::vector<KernelCall> lowerConvTransposePhases(const Op &op) {
  ConvGeom g = convGeometry(op, op.getInts("kernel"), op.getInts("padding"));
  kiln_rt::ConvTransposeGemmParams p{};
  p.cin = int(g.cin);
  p.cout = int(g.cout);
  p.groups = int(g.groups);
  for (int i = 0; i < 3; ++i) {
    p.out[i] = int(g.out[i]);
    p.stride[i] = int(g.s[i]);
  }
  p.mr = int(op.getInt("mr"));
  return convTransposeGemmCall(
      op, "conv_transpose_phases_mr" + std::to_string(p.mr),
      kiln_rt::conv_transpose_phases_scratch_floats(p));
}

} // namespace

extern const OpDef kConvTransposePhasesOp = {
    .name = "conv_transpose_phases",
    .operands = {{"input"}, {"weight"}, {"bias", true}, {"residual", true}},
    .attrs = packedConvTransposeAttrs(),
    .inferShapes = inferConvTransposePhases,
    .evaluate = evalConvTransposePhases,
    .lower = lowerConvTransposePhases,
    .macs = macsPackedConvTranspose,
    .fusableEpilogue = true,
};

} // namespace kiln::ops
