// Ops `adaptive_avg_pool`, `adaptive_max_pool` and `adaptive_max_pool_indices`
// (also int32 flat offsets of the maxima): pooling to a requested output
// size with PyTorch's windows floor(i*in/out) .. ceil((i+1)*in/out).
//   operands: input [N, C, S...]; attrs: output_size [o...] (resolved)
#include "ir/ops/op_helpers.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace kiln::ops {
namespace {

bool isMax(const Op &op) { return std::strstr(op.name(), "max") != nullptr; }

std::vector<Shape> inferAdaptive(const Op &op) {
  const auto &o = op.getInts("output_size");
  size_t ns = o.size();
  if (ns < 1 || ns > 3)
    op.error("expected 1 to 3 spatial dims, found " + std::to_string(ns));
  checkInts(op, "output_size", ns, 1);
  const Shape &x = operandShape(op, 0, int(ns) + 2);
  Shape y = {x[0], x[1]};
  y.insert(y.end(), o.begin(), o.end());
  if (op.def->numResults > 1)
    return {y, y};
  return {y};
}

struct Geom {
  std::array<int64_t, 3> in, out;
  int64_t planes;
};

Geom geometry(const Op &op) {
  const Shape &x = op.operand(0)->shape;
  return {slots({x.begin() + 2, x.end()}, 1),
          slots(op.getInts("output_size"), 1), x[0] * x[1]};
}

void evalAdaptive(const Op &op, const std::vector<const float *> &in,
                  const std::vector<float *> &out) {
  Geom g = geometry(op);
  bool max = isMax(op);
  auto lo = [](int64_t i, int64_t n, int64_t o) { return i * n / o; };
  auto hi = [](int64_t i, int64_t n, int64_t o) {
    return ((i + 1) * n + o - 1) / o;
  };
  int64_t inPlane = g.in[0] * g.in[1] * g.in[2];
  int64_t outPlane = g.out[0] * g.out[1] * g.out[2];
  for (int64_t c = 0; c < g.planes; ++c)
    for (int64_t o = 0; o < outPlane; ++o) {
      int64_t oi[3] = {o / (g.out[1] * g.out[2]), o / g.out[2] % g.out[1],
                       o % g.out[2]};
      int64_t a[3], b[3];
      for (int d = 0; d < 3; ++d) {
        a[d] = lo(oi[d], g.in[d], g.out[d]);
        b[d] = hi(oi[d], g.in[d], g.out[d]);
      }
      double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
      int64_t best = (a[0] * g.in[1] + a[1]) * g.in[2] + a[2];
      bool nan = false;
      for (int64_t d = a[0]; d < b[0]; ++d)
        for (int64_t h = a[1]; h < b[1]; ++h)
          for (int64_t w = a[2]; w < b[2]; ++w) {
            int64_t at = (d * g.in[1] + h) * g.in[2] + w;
            double v = in[0][c * inPlane + at];
            if (!max) {
              acc += v;
            } else if (std::isnan(v) || (!nan && v > acc)) {
              nan |= std::isnan(v);
              acc = v;
              best = at;
            }
          }
      if (!max)
        acc /= double((b[0] - a[0]) * (b[1] - a[1]) * (b[2] - a[2]));
      out[0][c * outPlane + o] = float(acc);
      if (out.size() > 1)
        storeIndex(out[1] + c * outPlane + o, best);
    }
}

std::vector<KernelCall> lowerAdaptive(const Op &op) {
  Geom g = geometry(op);
  std::vector<int> args = {0, -1};
  if (isMax(op))
    args.push_back(op.results.size() > 1 ? -2 : KernelCall::kNullArg);
  return {KernelCall{
      isMax(op) ? "adaptive_max_pool" : "adaptive_avg_pool",
      "AdaptivePoolParams",
      KernelParam::group(
          "", {KernelParam::integer("planes", g.planes),
               KernelParam::array("in", {g.in.begin(), g.in.end()}),
               KernelParam::array("out", {g.out.begin(), g.out.end()})}),
      args}};
}

int64_t macsAdaptive(const Op &op) { return op.operand(0)->numElements(); }

} // namespace

extern const OpDef kAdaptiveAvgPoolOp = {
    .name = "adaptive_avg_pool",
    .operands = {{"input"}},
    .attrs = {{"output_size", AttrKind::Ints}},
    .inferShapes = inferAdaptive,
    .evaluate = evalAdaptive,
    .lower = lowerAdaptive,
    .macs = macsAdaptive};

extern const OpDef kAdaptiveMaxPoolOp = {
    .name = "adaptive_max_pool",
    .operands = {{"input"}},
    .attrs = {{"output_size", AttrKind::Ints}},
    .inferShapes = inferAdaptive,
    .evaluate = evalAdaptive,
    .lower = lowerAdaptive,
    .macs = macsAdaptive};

extern const OpDef kAdaptiveMaxPoolIndicesOp = {
    .name = "adaptive_max_pool_indices",
    .operands = {{"input"}},
    .attrs = {{"output_size", AttrKind::Ints}},
    .numResults = 2,
    .resultTypes = {ElemType::F32, ElemType::I32},
    .inferShapes = inferAdaptive,
    .evaluate = evalAdaptive,
    .lower = lowerAdaptive,
    .macs = macsAdaptive};

} // namespace kiln::ops
