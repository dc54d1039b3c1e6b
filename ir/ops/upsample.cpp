// Resizing ops, PyTorch 1.13's upsample_nearest{1,2,3}d and
// upsample_bilinear2d (what F.interpolate and nn.Upsample call):
//   upsample_nearest (input [N, C, S...]) {size, scale_d?, scale_h?, scale_w?}
//     1 to 3 spatial dims
//   upsample_bilinear (input [N, C, H, W]) {size, align_corners, scale_h?,
//     scale_w?}
// `size` is the output's spatial sizes. The optional scales are the scale
// factors the model gave (PyTorch's `scales_*` arguments, right-aligned:
// the last spatial dim is `scale_w`): present, the source coordinate of an
// output index steps by float(1 / scale); absent, by float(in) / float(out).
// Either every spatial dim has a scale or none has.
// PyTorch's nearest kernel for 2 or 3 spatial dims takes another path when
// the input has one channel (an NCHW tensor with C = 1 is also channels-last
// contiguous): there, a dim whose size is unchanged is copied and one whose
// size doubles takes dst / 2 whatever the scale. upsample_nearest does the
// same, so that it selects the elements PyTorch selects. Bilinear takes
// that path when the input has one channel or one pixel; the runtime kernel
// then follows its arithmetic (corner weights, a sum rounded from double).
#include "ir/ops/op_helpers.h"

#include <cmath>
#include <cstring>

namespace kiln::ops {
namespace {

const char *const kScaleNames[3] = {"scale_d", "scale_h", "scale_w"};

bool isBilinear(const Op &op) {
  return std::strcmp(op.name(), "upsample_bilinear") == 0;
}

std::vector<Shape> inferUpsample(const Op &op) {
  const Shape &x = operandShape(op, 0);
  const auto &size = op.getInts("size");
  bool bilinear = isBilinear(op);
  if (bilinear ? x.size() != 4 : (x.size() < 3 || x.size() > 5))
    op.error(std::string("expected an input of rank ") +
             (bilinear ? "4 (N, C, H, W)" : "3 to 5 (N, C, 1 to 3 spatial)") +
             ", found shape " + shapeToString(x));
  size_t ns = x.size() - 2;
  checkInts(op, "size", ns, 1);
  int present = 0;
  for (size_t s = 0; s < 3; ++s) {
    auto it = op.attrs.find(kScaleNames[s]);
    if (it == op.attrs.end())
      continue;
    if (s < 3 - ns)
      op.error(std::string(kScaleNames[s]) + " is given for an input with " +
               std::to_string(ns) + " spatial dim(s) (shape " +
               shapeToString(x) + ")");
    double v = op.getFloat(kScaleNames[s]);
    if (!(v > 0) || !std::isfinite(v))
      op.error(std::string(kScaleNames[s]) +
               " must be a finite number > 0, found " + attrToString(Attr(v)));
    ++present;
  }
  if (present != 0 && present != int(ns))
    op.error("the scales must be given for every spatial dim or for none");
  Shape y = {x[0], x[1]};
  y.insert(y.end(), size.begin(), size.end());
  return {y};
}

/// Spatial geometry in three right-aligned slots, and the float step of
/// each slot (PyTorch's compute_scales_value / area_pixel_compute_scale).
struct Geom {
  std::array<int64_t, 3> in, out;
  std::array<float, 3> step;
  int64_t planes;
  bool sameOrDouble;
  /// PyTorch's channels-last kernel runs: C == 1, or one input pixel.
  bool channelsLast;
};

Geom geometry(const Op &op) {
  const Shape &x = op.operand(0)->shape;
  Geom g;
  g.in = slots({x.begin() + 2, x.end()}, 1);
  g.out = slots(op.getInts("size"), 1);
  g.planes = x[0] * x[1];
  g.channelsLast =
      x.size() >= 4 && (x[1] == 1 || g.in[0] * g.in[1] * g.in[2] == 1);
  g.sameOrDouble = !isBilinear(op) && g.channelsLast;
  bool align = isBilinear(op) && op.getBool("align_corners");
  for (size_t s = 0; s < 3; ++s) {
    float in = float(g.in[s]), out = float(g.out[s]);
    if (align)
      g.step[s] = g.out[s] > 1 ? float(g.in[s] - 1) / float(g.out[s] - 1) : 0;
    else if (op.attrs.count(kScaleNames[s]))
      g.step[s] = float(1.0 / op.getFloat(kScaleNames[s]));
    else
      g.step[s] = in / out;
  }
  return g;
}

void evalNearest(const Op &op, const std::vector<const float *> &in,
                 const std::vector<float *> &out) {
  Geom g = geometry(op);
  auto src = [&](int64_t dst, size_t s) {
    if (g.sameOrDouble && g.out[s] == g.in[s])
      return dst;
    if (g.sameOrDouble && g.out[s] == 2 * g.in[s])
      return dst / 2;
    // floor(float(dst) * step), the product rounded to float.
    float f = float(dst) * g.step[s];
    return std::min(int64_t(std::floor(f)), g.in[s] - 1);
  };
  int64_t inPlane = g.in[0] * g.in[1] * g.in[2];
  float *y = out[0];
  for (int64_t c = 0; c < g.planes; ++c)
    for (int64_t d = 0; d < g.out[0]; ++d)
      for (int64_t h = 0; h < g.out[1]; ++h)
        for (int64_t w = 0; w < g.out[2]; ++w)
          *y++ = in[0][c * inPlane +
                       (src(d, 0) * g.in[1] + src(h, 1)) * g.in[2] + src(w, 2)];
}

/// One output index's two source indices and weights (see the runtime
/// kernel's linear_tap for PyTorch's rule, restated here independently).
struct Tap {
  int64_t i0, i1;
  float w0, w1;
};

Tap tap(int64_t dst, float step, int64_t in, int64_t out, bool align) {
  if (in == out)
    return {dst, dst, 1.0f, 0.0f};
  double real = align ? double(step) * double(dst)
                      : std::max(double(step) * (dst + 0.5) - 0.5, 0.0);
  int64_t i0 = std::min(int64_t(real), in - 1);
  float w1 = float(std::clamp(real - double(i0), 0.0, 1.0));
  return {i0, i0 + (i0 < in - 1 ? 1 : 0), 1.0f - w1, w1};
}

void evalBilinear(const Op &op, const std::vector<const float *> &in,
                  const std::vector<float *> &out) {
  Geom g = geometry(op);
  bool align = op.getBool("align_corners");
  int64_t ih = g.in[1], iw = g.in[2];
  float *y = out[0];
  for (int64_t c = 0; c < g.planes; ++c) {
    const float *x = in[0] + c * ih * iw;
    for (int64_t h = 0; h < g.out[1]; ++h) {
      Tap r = tap(h, g.step[1], ih, g.out[1], align);
      for (int64_t w = 0; w < g.out[2]; ++w) {
        Tap t = tap(w, g.step[2], iw, g.out[2], align);
        double top = double(x[r.i0 * iw + t.i0]) * t.w0 +
                     double(x[r.i0 * iw + t.i1]) * t.w1;
        double bottom = double(x[r.i1 * iw + t.i0]) * t.w0 +
                        double(x[r.i1 * iw + t.i1]) * t.w1;
        *y++ = float(top * r.w0 + bottom * r.w1);
      }
    }
  }
}

KernelParam floatSlots(const char *name, const std::array<float, 3> &v,
                       size_t first) {
  std::vector<KernelParam> f;
  for (size_t s = first; s < 3; ++s)
    f.push_back(KernelParam::real(name + std::to_string(s - first), v[s]));
  return KernelParam::group(name, f);
}

std::vector<KernelCall> lowerUpsample(const Op &op) {
  Geom g = geometry(op);
  if (!isBilinear(op))
    return {KernelCall{
        "upsample_nearest", "UpsampleNearestParams",
        KernelParam::group(
            "", {KernelParam::integer("planes", g.planes),
                 KernelParam::array("in", {g.in.begin(), g.in.end()}),
                 KernelParam::array("out", {g.out.begin(), g.out.end()}),
                 floatSlots("scale", g.step, 0),
                 KernelParam::integer("same_or_double", g.sameOrDouble)})}};
  return {KernelCall{
      "upsample_bilinear", "UpsampleBilinearParams",
      KernelParam::group(
          "",
          {KernelParam::integer("planes", g.planes),
           KernelParam::array("in", {g.in[1], g.in[2]}),
           KernelParam::array("out", {g.out[1], g.out[2]}),
           floatSlots("ratio", g.step, 1),
           KernelParam::integer("align_corners", op.getBool("align_corners")),
           KernelParam::integer("corner_weights", g.channelsLast)})}};
}

/// Nearest upsampling to the input's own size copies the input when every
/// source index is the output index: a step of exactly 1 (no scale factor,
/// or a scale factor of 1), or PyTorch's copy rule for one channel.
bool nearestIsNoop(const Op &op) {
  Geom g = geometry(op);
  for (size_t s = 0; s < 3; ++s)
    if (g.out[s] != g.in[s] || !(g.sameOrDouble || g.step[s] == 1.0f))
      return false;
  return true;
}

/// Nearest copies one value per output; bilinear weighs four.
int64_t macsUpsample(const Op &op) {
  return (isBilinear(op) ? 4 : 1) * op.result()->numElements();
}

} // namespace

extern const OpDef kUpsampleNearestOp = {
    .name = "upsample_nearest",
    .operands = {{"input"}},
    .attrs = {{"scale_d", AttrKind::Float, true},
              {"scale_h", AttrKind::Float, true},
              {"scale_w", AttrKind::Float, true},
              {"size", AttrKind::Ints}},
    .inferShapes = inferUpsample,
    .evaluate = evalNearest,
    .lower = lowerUpsample,
    .macs = macsUpsample,
    .isNoop = nearestIsNoop};

extern const OpDef kUpsampleBilinearOp = {
    .name = "upsample_bilinear",
    .operands = {{"input"}},
    .attrs = {{"align_corners", AttrKind::Bool},
              {"scale_h", AttrKind::Float, true},
              {"scale_w", AttrKind::Float, true},
              {"size", AttrKind::Ints}},
    .inferShapes = inferUpsample,
    .evaluate = evalBilinear,
    .lower = lowerUpsample,
    .macs = macsUpsample};

} // namespace kiln::ops
