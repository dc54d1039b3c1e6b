// Op `pad`: pads the last one to three dims (PyTorch's F.pad).
//   operands: input
//   attrs: mode ("constant" / "reflect" / "replicate" / "circular"),
//          pads [begin..., end...] for the last len(pads)/2 dims, value
#include "ir/ops/op_helpers.h"

namespace kiln::ops {
namespace {

const char *const kModes[] = {"constant", "reflect", "replicate", "circular"};

int modeId(const Op &op) {
  const std::string &m = op.getString("mode");
  for (int i = 0; i < 4; ++i)
    if (m == kModes[i])
      return i;
  op.error("mode must be constant, reflect, replicate or circular, found \"" +
           m + "\"");
}

std::vector<Shape> inferPad(const Op &op) {
  int mode = modeId(op);
  const auto &pads = op.getInts("pads");
  size_t ns = pads.size() / 2;
  if (pads.size() % 2 || ns < 1 || ns > 3)
    op.error("pads must list begin and end paddings of 1 to 3 dims, found " +
             shapeToString(pads));
  const Shape &x = operandShape(op, 0);
  if (x.size() < ns)
    op.error("cannot pad " + std::to_string(ns) +
             " dims of an input of shape " + shapeToString(x));
  Shape y = x;
  for (size_t i = 0; i < ns; ++i) {
    int64_t n = x[x.size() - ns + i], b = pads[i], e = pads[ns + i];
    if (b < 0 || e < 0)
      op.error("negative padding is not supported, found " +
               shapeToString(pads));
    if (b > kMaxElements || e > kMaxElements || n + b + e > kMaxElements)
      op.error("padding " + shapeToString(pads) + " is too large");
    if (mode == 1 && (b >= n || e >= n))
      op.error("reflect padding " + std::to_string(std::max(b, e)) +
               " must be smaller than the padded dim's size " +
               std::to_string(n) + " (input shape " + shapeToString(x) + ")");
    if (mode == 3 && (b > n || e > n))
      op.error("circular padding " + std::to_string(std::max(b, e)) +
               " must not exceed the padded dim's size " + std::to_string(n) +
               " (input shape " + shapeToString(x) + ")");
    y[x.size() - ns + i] = n + b + e;
  }
  return {y};
}

struct PadGeom {
  std::array<int64_t, 3> in, out, before;
  int64_t outer;
};

PadGeom geometry(const Op &op) {
  const Shape &x = op.operand(0)->shape, &y = op.result()->shape;
  const auto &pads = op.getInts("pads");
  size_t ns = pads.size() / 2;
  int64_t outer = 1;
  for (size_t i = 0; i + ns < x.size(); ++i)
    outer *= x[i];
  return {slots({x.end() - long(ns), x.end()}, 1),
          slots({y.end() - long(ns), y.end()}, 1),
          slots({pads.begin(), pads.begin() + long(ns)}, 0), outer};
}

void evalPad(const Op &op, const std::vector<const float *> &in,
             const std::vector<float *> &out) {
  PadGeom g = geometry(op);
  int mode = modeId(op);
  float value = float(op.getFloat("value"));
  auto src = [&](int64_t i, int64_t n) -> int64_t {
    if (i >= 0 && i < n)
      return i;
    if (mode == 1) // reflect: mirror without repeating the edge
      return i < 0 ? -i : 2 * (n - 1) - i;
    if (mode == 2)
      return i < 0 ? 0 : n - 1;
    if (mode == 3)
      return ((i % n) + n) % n;
    return -1;
  };
  int64_t inPlane = g.in[0] * g.in[1] * g.in[2];
  int64_t outPlane = g.out[0] * g.out[1] * g.out[2];
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t d = 0; d < g.out[0]; ++d)
      for (int64_t h = 0; h < g.out[1]; ++h)
        for (int64_t w = 0; w < g.out[2]; ++w) {
          int64_t sd = src(d - g.before[0], g.in[0]);
          int64_t sh = src(h - g.before[1], g.in[1]);
          int64_t sw = src(w - g.before[2], g.in[2]);
          out[0][o * outPlane + (d * g.out[1] + h) * g.out[2] + w] =
              sd < 0 || sh < 0 || sw < 0
                  ? value
                  : in[0][o * inPlane + (sd * g.in[1] + sh) * g.in[2] + sw];
        }
}

std::vector<KernelCall> lowerPad(const Op &op) {
  PadGeom g = geometry(op);
  auto arr = [](const char *n, const std::array<int64_t, 3> &a) {
    return KernelParam::array(n, {a.begin(), a.end()});
  };
  return {KernelCall{
      "pad", "PadParams",
      KernelParam::group("", {KernelParam::integer("mode", modeId(op)),
                              KernelParam::real("value", op.getFloat("value")),
                              KernelParam::integer("outer", g.outer),
                              arr("in", g.in), arr("out", g.out),
                              arr("before", g.before)})}};
}

bool padIsNoop(const Op &op) {
  for (int64_t p : op.getInts("pads"))
    if (p)
      return false;
  return true;
}

} // namespace

extern const OpDef kPadOp = {.name = "pad",
                             .operands = {{"input"}},
                             .attrs = {{"mode", AttrKind::String},
                                       {"pads", AttrKind::Ints},
                                       {"value", AttrKind::Float}},
                             .inferShapes = inferPad,
                             .evaluate = evalPad,
                             .lower = lowerPad,
                             .isNoop = padIsNoop};

} // namespace kiln::ops
