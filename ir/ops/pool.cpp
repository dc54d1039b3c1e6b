// Ops `max_pool`, `max_pool_indices` (also the int32 flat offset of each
// maximum in its input plane) and `avg_pool`: N-d pooling (1 to 3 spatial dims)
// with PyTorch's output size rules (ceil_mode, last window in the padding).
//   operands: input [N, C, S...]
//   attrs (both): kernel, stride, padding (symmetric), ceil_mode
//   max_pool: dilation; avg_pool: count_include_pad, divisor_override (0: none)
#include "ir/ops/op_helpers.h"

#include <cmath>
#include <limits>

namespace kiln::ops {
namespace {

bool isMax(const Op &op) { return op.attrs.count("dilation") != 0; }
bool withIndices(const Op &op) { return op.results.size() > 1; }

std::vector<int64_t> dilationOf(const Op &op) {
  return isMax(op) ? op.getInts("dilation")
                   : std::vector<int64_t>(op.getInts("kernel").size(), 1);
}

std::vector<Shape> inferPool(const Op &op) {
  size_t ns = op.getInts("kernel").size();
  if (ns < 1 || ns > 3)
    op.error("expected 1 to 3 spatial dims, found " + std::to_string(ns));
  checkInts(op, "kernel", ns, 1);
  checkInts(op, "stride", ns, 1);
  checkInts(op, "padding", ns, 0);
  if (isMax(op))
    checkInts(op, "dilation", ns, 1);
  else if (op.getInt("divisor_override") < 0)
    op.error("divisor_override must be positive, found " +
             std::to_string(op.getInt("divisor_override")));
  const Shape &x = operandShape(op, 0, int(ns) + 2);
  const auto &k = op.getInts("kernel"), &s = op.getInts("stride"),
             &p = op.getInts("padding");
  auto d = dilationOf(op);
  Shape out = {x[0], x[1]};
  if (op.def->numResults > 1 &&
      numElements({x.begin() + 2, x.end()}) > kMaxElements)
    op.error("input planes of " + shapeToString({x.begin() + 2, x.end()}) +
             " are too large for int32 indices");
  for (size_t i = 0; i < ns; ++i) {
    if (p[i] > k[i] / 2)
      op.error("padding " + std::to_string(p[i]) + " in spatial dim " +
               std::to_string(i) + " must be at most half the kernel size " +
               std::to_string(k[i]));
    out.push_back(poolOutSize(op, i, x[2 + i], k[i], s[i], p[i], d[i],
                              op.getBool("ceil_mode")));
  }
  if (op.def->numResults > 1)
    return {out, out};
  return {out};
}

struct PoolGeom {
  std::array<int64_t, 3> in, out, k, s, p, d;
  int64_t planes;
};

PoolGeom geometry(const Op &op) {
  const Shape &x = op.operand(0)->shape, &y = op.result()->shape;
  return {slots({x.begin() + 2, x.end()}, 1),
          slots({y.begin() + 2, y.end()}, 1),
          slots(op.getInts("kernel"), 1),
          slots(op.getInts("stride"), 1),
          slots(op.getInts("padding"), 0),
          slots(dilationOf(op), 1),
          x[0] * x[1]};
}

void evalPool(const Op &op, const std::vector<const float *> &in,
              const std::vector<float *> &out) {
  PoolGeom g = geometry(op);
  bool max = isMax(op);
  int64_t divisor = max ? 0 : op.getInt("divisor_override");
  bool includePad = !max && op.getBool("count_include_pad");
  int64_t inPlane = g.in[0] * g.in[1] * g.in[2];
  int64_t outPlane = g.out[0] * g.out[1] * g.out[2];
  for (int64_t c = 0; c < g.planes; ++c)
    for (int64_t o = 0; o < outPlane; ++o) {
      int64_t oi[3] = {o / (g.out[1] * g.out[2]), o / g.out[2] % g.out[1],
                       o % g.out[2]};
      double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
      bool nan = false;
      // Flat input offsets of the maximum; PyTorch's index when nothing beats
      // -inf: the window start, moved by the dilation until not negative.
      int64_t best = -1, st[3];
      for (int dim = 0; dim < 3; ++dim)
        for (st[dim] = oi[dim] * g.s[dim] - g.p[dim]; st[dim] < 0;)
          st[dim] += g.d[dim];
      int64_t first = (st[0] * g.in[1] + st[1]) * g.in[2] + st[2];
      int64_t inside = 1, padded = 1;
      for (int dim = 0; dim < 3; ++dim) {
        int64_t lo = oi[dim] * g.s[dim] - g.p[dim];
        int64_t hi = std::min(lo + g.k[dim], g.in[dim] + g.p[dim]);
        padded *= hi - lo;
        inside *= std::min(hi, g.in[dim]) - std::max(lo, int64_t(0));
      }
      for (int64_t kd = 0; kd < g.k[0]; ++kd)
        for (int64_t kh = 0; kh < g.k[1]; ++kh)
          for (int64_t kw = 0; kw < g.k[2]; ++kw) {
            int64_t id = oi[0] * g.s[0] - g.p[0] + kd * g.d[0];
            int64_t ih = oi[1] * g.s[1] - g.p[1] + kh * g.d[1];
            int64_t iw = oi[2] * g.s[2] - g.p[2] + kw * g.d[2];
            if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 ||
                iw >= g.in[2])
              continue;
            int64_t at = (id * g.in[1] + ih) * g.in[2] + iw;
            double v = in[0][c * inPlane + at];
            // PyTorch keeps the first maximum, or the last NaN.
            if (max && (v > acc || std::isnan(v)) && !(nan && !std::isnan(v)))
              best = at;
            nan |= std::isnan(v);
            acc = max ? std::max(acc, v) : acc + v;
          }
      if (!max)
        acc /= double(divisor ? divisor : includePad ? padded : inside);
      out[0][c * outPlane + o] = nan ? NAN : float(acc);
      if (out.size() > 1)
        storeIndex(out[1] + c * outPlane + o, best >= 0 ? best : first);
    }
}

std::vector<KernelCall> lowerPool(const Op &op) {
  PoolGeom g = geometry(op);
  bool max = isMax(op);
  auto arr = [](const char *n, const std::array<int64_t, 3> &a) {
    return KernelParam::array(n, {a.begin(), a.end()});
  };
  std::vector<int> args = {0, -1};
  if (max)
    args.push_back(withIndices(op) ? -2 : KernelCall::kNullArg);
  return {KernelCall{
      max ? "max_pool" : "avg_pool", "PoolParams",
      KernelParam::group(
          "", {KernelParam::integer("planes", g.planes), arr("in", g.in),
               arr("out", g.out), arr("k", g.k), arr("stride", g.s),
               arr("pad", g.p), arr("dil", g.d),
               KernelParam::integer("count_include_pad",
                                    !max && op.getBool("count_include_pad")),
               KernelParam::integer("divisor",
                                    max ? 0 : op.getInt("divisor_override"))}),
      args}};
}

int64_t macsPool(const Op &op) {
  return numElements(op.result()->shape) * numElements(op.getInts("kernel"));
}

std::vector<AttrSpec> maxPoolAttrs() {
  return {{"ceil_mode", AttrKind::Bool},
          {"dilation", AttrKind::Ints},
          {"kernel", AttrKind::Ints},
          {"padding", AttrKind::Ints},
          {"stride", AttrKind::Ints}};
}

} // namespace

extern const OpDef kMaxPoolOp = {
    .name = "max_pool",
    .operands = {{"input"}},
    .attrs = maxPoolAttrs(),
    .inferShapes = inferPool,
    .evaluate = evalPool,
    .lower = lowerPool,
    .macs = macsPool,
};

extern const OpDef kMaxPoolIndicesOp = {
    .name = "max_pool_indices",
    .operands = {{"input"}},
    .attrs = maxPoolAttrs(),
    .numResults = 2,
    .resultTypes = {ElemType::F32, ElemType::I32},
    .inferShapes = inferPool,
    .evaluate = evalPool,
    .lower = lowerPool,
    .macs = macsPool,
};

extern const OpDef kAvgPoolOp = {
    .name = "avg_pool",
    .operands = {{"input"}},
    .attrs = {{"ceil_mode", AttrKind::Bool},
              {"count_include_pad", AttrKind::Bool},
              {"divisor_override", AttrKind::Int},
              {"kernel", AttrKind::Ints},
              {"padding", AttrKind::Ints},
              {"stride", AttrKind::Ints}},
    .inferShapes = inferPool,
    .evaluate = evalPool,
    .lower = lowerPool,
    .macs = macsPool,
};

} // namespace kiln::ops
