// Op `conv_winograd`: a 3x3 stride-1 `conv` (groups 1, dilation 1) whose
// filters the pack-weights pass has transformed at compile time for
// Winograd's F(m x m, 3 x 3) (runtime/kiln/kernels/winograd.h) and packed
// for the runtime's GEMM micro-kernel, one GEMM per element of the
// (m+2) x (m+2) transformed tile.
//   operands: input [N, Cin, H, W], weight [(m+2)^2, blocks, Cin, mr]
//             (transformed, packed), bias [Cout]?, residual [N, Cout, H',
//             W']? (fused `add`)
//   attrs: kernel (the unpacked weight shape [Cout, Cin, 3, 3]), stride,
//          padding, dilation, groups as `conv` (1, any, 1, 1); tile (m: 2
//          or 4), mr (block of output channels), kc (k chunk of the GEMMs),
//          nt (output tiles a block, a multiple of 32); activation?,
//          act_a?, act_b? (fused epilogue)
// This file also holds the pack-weights decision for 3x3 convs: whether
// Winograd pays for a layer on a target, and with which tile.
#include "runtime/kiln/kernels/conv_winograd.h"
#include "ir/ops/conv_common.h"
#include "ir/ops/epilogue.h"
#include "ir/ops/op_helpers.h"

#include <algorithm>

namespace kiln::ops {
namespace {

ConvGeom geometry(const Op &op) {
  const auto &pad = op.getInts("padding");
  return convGeometry(op, op.getInts("kernel"),
                      {pad.begin(), pad.begin() + long(pad.size() / 2)});
}

/// The packed weight shape of a `kernel` ([Cout, Cin, 3, 3]) for tile m.
Shape packedShape(const Shape &kernel, int m, int mr) {
  int64_t a = kiln_rt::winograd_alpha(m);
  return {a * a, kiln_rt::packed_blocks(int(kernel[0]), mr), kernel[1], mr};
}

std::vector<Shape> inferConvWinograd(const Op &op) {
  const auto &kernel = op.getInts("kernel");
  checkInts(op, "kernel", 4, 1);
  if (op.getInts("stride").size() != 2)
    op.error("conv_winograd is 2-D, found " +
             std::to_string(op.getInts("stride").size()) + " spatial dims");
  Shape out = convShape(op, kernel);
  int64_t m = op.getInt("tile"), mr = op.getInt("mr"), kc = op.getInt("kc"),
          nt = op.getInt("nt");
  if (kernel[2] != 3 || kernel[3] != 3)
    op.error("conv_winograd needs a 3x3 kernel, found " +
             shapeToString(kernel));
  for (int64_t v : op.getInts("stride"))
    if (v != 1)
      op.error("conv_winograd needs stride 1");
  for (int64_t v : op.getInts("dilation"))
    if (v != 1)
      op.error("conv_winograd needs dilation 1");
  if (op.getInt("groups") != 1)
    op.error("conv_winograd needs groups 1, found " +
             std::to_string(op.getInt("groups")));
  if (!kiln_rt::is_winograd_tile(int(m)))
    op.error("tile must be 2 or 4, found " + std::to_string(m));
  if (!kiln_rt::is_block_height(int(mr)))
    op.error("mr must be 4, 6, 8, 12 or 16, found " + std::to_string(mr));
  if (kc < 1 || kc > kernel[1])
    op.error("kc must be in [1, " + std::to_string(kernel[1]) + "], found " +
             std::to_string(kc));
  if (nt < 32 || nt % 32 != 0 || nt > (1 << 16))
    op.error("nt must be a multiple of 32 in [32, 2^16], found " +
             std::to_string(nt));
  Shape packed = packedShape(kernel, int(m), int(mr));
  if (operandShape(op, 1) != packed)
    op.error("packed weight shape " + shapeToString(op.operand(1)->shape) +
             " is not " + shapeToString(packed) +
             " ([(tile+2)^2, blocks, Cin, mr] for kernel " +
             shapeToString(kernel) + ")");
  return {out};
}

/// For each filter (oc, c): its transformed A x A values from the packed
/// weight, in double.
template <int M, typename F>
void forEachFilter(const Op &op, const float *packed, F f) {
  constexpr int A = M + 2;
  const auto &kernel = op.getInts("kernel");
  int cout = int(kernel[0]), cin = int(kernel[1]), mr = int(op.getInt("mr"));
  double u[A * A];
  for (int oc = 0; oc < cout; ++oc)
    for (int c = 0; c < cin; ++c) {
      for (int xi = 0; xi < A * A; ++xi)
        u[xi] = packed[kiln_rt::packed_weight_offset(cout, cin, mr, xi, oc, c)];
      f(oc, c, u);
    }
}

/// The filters of `op` back in PyTorch's layout (g = L U LT).
template <int M> std::vector<float> unpack(const Op &op, const float *packed) {
  const auto &kernel = op.getInts("kernel");
  std::vector<float> w(size_t(kernel[0] * kernel[1] * 9));
  forEachFilter<M>(op, packed, [&](int oc, int c, const double *u) {
    double g[9];
    kiln_rt::winograd_filter_inverse<M>(u, g);
    for (int i = 0; i < 9; ++i)
      w[size_t((oc * kernel[1] + c) * 9 + i)] = float(g[i]);
  });
  return w;
}

void evalConvWinograd(const Op &op, const std::vector<const float *> &in,
                      const std::vector<float *> &out) {
  std::vector<float> w =
      op.getInt("tile") == 4 ? unpack<4>(op, in[1]) : unpack<2>(op, in[1]);
  referenceConv(geometry(op), in[0], w.data(), in.size() > 2 ? in[2] : nullptr,
                out[0]);
  applyEpilogue(op, in.size() > 3 ? in[3] : nullptr, out[0],
                op.result()->numElements());
}

std::vector<KernelCall> lowerConvWinograd(const Op &op) {
  ConvGeom g = geometry(op);
  int m = int(op.getInt("tile")), nt = int(op.getInt("nt"));
  std::vector<KernelParam> fields = {
      KernelParam::integer("n", g.n), KernelParam::integer("cin", g.cin),
      KernelParam::integer("cout", g.cout),
      // The 2-D geometry is in ConvGeom's height and width slots.
      KernelParam::array("in", {g.in[1], g.in[2]}),
      KernelParam::array("out", {g.out[1], g.out[2]}),
      KernelParam::array("pad", {g.p[1], g.p[2]}), KernelParam::integer("m", m),
      KernelParam::integer("mr", op.getInt("mr")),
      KernelParam::integer("kc", op.getInt("kc")),
      KernelParam::integer("nt", nt), epilogueParam(op)};
  KernelCall call{"conv_winograd_mr" + std::to_string(op.getInt("mr")),
                  "ConvWinogradParams",
                  KernelParam::group("", fields),
                  {0, 1, 2, 3, -1, KernelCall::kScratchArg}};
  call.scratchBytes = int64_t(kiln_rt::conv_winograd_scratch_floats(
                          m, int(g.cin), int(g.cout), nt, int(g.out[2]))) *
                      int64_t(sizeof(float));
  return {call};
}

int64_t macsConvWinograd(const Op &op) {
  // The direct convolution's multiply-adds (what GFLOP/s figures count).
  const auto &kernel = op.getInts("kernel");
  return numElements(op.result()->shape) * kernel[1] * 9;
}

} // namespace

int chooseWinogradTile(const Op &op, const TileTarget &t) {
  const Shape &w = op.operand(1)->shape;
  if (!t.winograd || t.lanes < 4 || w.size() != 4 || w[2] != 3 || w[3] != 3 ||
      op.getInt("groups") != 1 || !op.operand(1)->isWeight())
    return 0;
  for (int64_t v : op.getInts("stride"))
    if (v != 1)
      return 0;
  for (int64_t v : op.getInts("dilation"))
    if (v != 1)
      return 0;
  const Shape &y = op.result()->shape;
  int64_t cin = w[1], cout = w[0], oh = y[2], ow = y[3];
  if (cin < 16 || cout < 16)
    return 0;
  // Cost in multiply-adds, calibrated on AVX-512 (docs/kernels.md has the
  // per-layer figures): the direct GEMM (output positions padded to the
  // tile width) against the A*A GEMMs of Winograd (tiles padded the same
  // way; their short K runs from L1, 0.8 of a direct multiply-add) plus the
  // transforms, per tile and channel kTransform[m] lane-multiply-adds,
  // divided by the share of vector lanes a tile row fills.
  const int64_t cols = t.tileCols(), lanes = t.lanes;
  auto roundUp = [](int64_t v, int64_t to) { return (v + to - 1) / to * to; };
  double direct = double(roundUp(oh * ow, cols)) * cin * 9 * cout;
  int best = 0;
  double bestCost = 0.85 * direct;
  for (int m : {2, 4}) {
    int64_t a2 = (m + 2) * (m + 2);
    // Transformed filters past a few MiB make the GEMMs bandwidth-bound.
    if (a2 * cin * cout * 4 > (int64_t(6) << 20))
      continue;
    int64_t tw = (ow + m - 1) / m, tiles = kiln_rt::winograd_tiles(m, oh, ow);
    double util = double(tw) / double(roundUp(tw, lanes));
    double gemm = 0.8 * double(roundUp(tiles, cols)) * a2 * cin * cout;
    double transforms =
        double(tiles) * (cin + cout) * (m == 4 ? 70.0 : 17.7) * lanes / util;
    double cost = gemm + transforms;
    if (cost < bestCost) {
      best = m;
      bestCost = cost;
    }
  }
  return best;
}

Op *packWinograd(Graph &g, Op &op, const TileTarget &t, int m) {
  const Shape &w = op.operand(1)->shape;
  int cout = int(w[0]), cin = int(w[1]);
  int mr = chooseBlockHeight(cout, t);
  const Shape &y = op.result()->shape;
  int64_t tiles = kiln_rt::winograd_tiles(m, y[2], y[3]);
  // Tiles a block: V and M of a block (A^2 x (cin + cout) x nt floats) in
  // about half a megabyte, so that they stay in L2 between the transforms
  // and the GEMMs; at least 32, at most all tiles.
  int64_t a2 = (m + 2) * (m + 2);
  int64_t perTile = a2 * (cin + cout) * 4;
  int64_t nt = std::max<int64_t>(32, (int64_t(512) << 10) / perTile / 32 * 32);
  // Filters too big for L2 are streamed once per block: then one block of
  // all tiles, if its V and M fit in 4 MiB.
  const int64_t allTiles = (tiles + 31) / 32 * 32;
  if (a2 * cin * cout * 4 > (int64_t(1) << 20) &&
      perTile * allTiles <= (int64_t(4) << 20))
    nt = allTiles;
  nt = std::min<int64_t>(nt, allTiles);
  auto packed = std::make_shared<std::vector<float>>(
      size_t(kiln_rt::winograd_packed_size(m, cout, cin, mr)), 0.0f);
  const float *src = op.operand(1)->data->data();
  if (m == 4)
    kiln_rt::winograd_pack_filters<4>(src, cout, cin, mr, packed->data());
  else
    kiln_rt::winograd_pack_filters<2>(src, cout, cin, mr, packed->data());
  Value *pw = g.addWeight(op.operand(1)->name + ".winograd",
                          packedShape(w, m, mr), packed);
  return replaceWithPacked(g, op, "conv_winograd", pw,
                           {{"tile", int64_t(m)},
                            {"mr", int64_t(mr)},
                            {"kc", int64_t(chooseKChunk(cin, t))},
                            {"nt", nt}});
}

extern const OpDef kConvWinogradOp = {
    .name = "conv_winograd",
    .operands = {{"input"}, {"weight"}, {"bias", true}, {"residual", true}},
    .attrs = withEpilogueAttrs({{"dilation", AttrKind::Ints},
                                {"groups", AttrKind::Int},
                                {"kc", AttrKind::Int},
                                {"kernel", AttrKind::Ints},
                                {"mr", AttrKind::Int},
                                {"nt", AttrKind::Int},
                                {"padding", AttrKind::Ints},
                                {"stride", AttrKind::Ints},
                                {"tile", AttrKind::Int}}),
    .inferShapes = inferConvWinograd,
    .evaluate = evalConvWinograd,
    .lower = lowerConvWinograd,
    .macs = macsConvWinograd,
    .fusableEpilogue = true,
};

} // namespace kiln::ops
