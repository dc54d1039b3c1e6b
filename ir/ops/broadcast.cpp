// Ops over strided views of up to six dims:
//   add / sub (a, b) {alpha}, mul / div (a, b): elementwise with PyTorch
//     broadcasting (a number operand is a 0-d weight)
//   sum / mean (input) {dims (sorted, non-negative), keepdim}
//   cat (inputs...) {dim}
#include "ir/ops/op_helpers.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

namespace kiln::ops {
namespace {

constexpr size_t kMaxRank = 6;

// ---- binary elementwise

int binaryId(const Op &op) {
  const char *n = op.name();
  return !std::strcmp(n, "add")   ? 0
         : !std::strcmp(n, "sub") ? 1
         : !std::strcmp(n, "mul") ? 2
                                  : 3;
}

double alphaOf(const Op &op) {
  return op.attrs.count("alpha") ? op.getFloat("alpha") : 1.0;
}

/// PyTorch's broadcast of two shapes, or an error naming both.
Shape broadcastShapes(const Op &op, const Shape &a, const Shape &b) {
  size_t r = std::max(a.size(), b.size());
  Shape y(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      op.error("shapes " + shapeToString(a) + " and " + shapeToString(b) +
               " do not broadcast (dim " + std::to_string(i) + ": " +
               std::to_string(da) + " vs " + std::to_string(db) + ")");
    y[i] = std::max(da, db);
  }
  return y;
}

std::vector<Shape> inferBinary(const Op &op) {
  Shape y = broadcastShapes(op, operandShape(op, 0), operandShape(op, 1));
  if (y.size() > kMaxRank)
    op.error("rank " + std::to_string(y.size()) + " is above the supported " +
             std::to_string(kMaxRank));
  return {y};
}

/// Element strides of `s` read as `out` (0 on broadcast dims), six slots.
std::array<int64_t, 6> broadcastStrides(const Shape &s, const Shape &out) {
  std::array<int64_t, 6> st = {0, 0, 0, 0, 0, 0};
  int64_t stride = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    size_t d = s.size() - 1 - i;
    st[5 - i] = s[d] == 1 && out[out.size() - 1 - i] != 1 ? 0 : stride;
    stride *= s[d];
  }
  return st;
}

std::array<int64_t, 6> slots6(const Shape &s) {
  std::array<int64_t, 6> r = {1, 1, 1, 1, 1, 1};
  for (size_t i = 0; i < s.size(); ++i)
    r[6 - s.size() + i] = s[i];
  return r;
}

void evalBinary(const Op &op, const std::vector<const float *> &in,
                const std::vector<float *> &out) {
  const Shape &y = op.result()->shape;
  auto sa = broadcastStrides(op.operand(0)->shape, y);
  auto sb = broadcastStrides(op.operand(1)->shape, y);
  auto dims = slots6(y);
  int id = binaryId(op);
  double alpha = alphaOf(op);
  int64_t n = op.result()->numElements();
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, oa = 0, ob = 0;
    for (int d = 5; d >= 0; --d) {
      int64_t c = rest % dims[size_t(d)];
      rest /= dims[size_t(d)];
      oa += c * sa[size_t(d)];
      ob += c * sb[size_t(d)];
    }
    double a = in[0][oa], b = in[1][ob];
    double r = id == 0   ? a + alpha * b
               : id == 1 ? a - alpha * b
               : id == 2 ? a * b
                         : a / b;
    out[0][i] = float(r);
  }
}

/// Merges each pair of adjacent dims that both operands step through as
/// one (outer stride = inner stride x inner size, broadcast dims included),
/// keeping six right-aligned slots: [1,C,H,W] * [1,C,1,1] becomes
/// [C, H*W] with b's inner stride 0, one long row per channel.
void coalesceDims(std::array<int64_t, 6> &dims, std::array<int64_t, 6> &sa,
                  std::array<int64_t, 6> &sb) {
  // The dims of size > 1, outermost first, merged into the last kept one
  // where both operands are contiguous across the pair.
  std::vector<std::array<int64_t, 3>> kept;
  for (size_t d = 0; d < 6; ++d) {
    if (dims[d] == 1)
      continue;
    if (!kept.empty()) {
      std::array<int64_t, 3> &o = kept.back();
      if (o[1] == sa[d] * dims[d] && o[2] == sb[d] * dims[d]) {
        o = {o[0] * dims[d], sa[d], sb[d]};
        continue;
      }
    }
    kept.push_back({dims[d], sa[d], sb[d]});
  }
  const size_t lead = 6 - kept.size();
  for (size_t d = 0; d < 6; ++d) {
    const bool pad = d < lead;
    dims[d] = pad ? 1 : kept[d - lead][0];
    sa[d] = pad ? 0 : kept[d - lead][1];
    sb[d] = pad ? 0 : kept[d - lead][2];
  }
}

std::vector<KernelCall> lowerBinary(const Op &op) {
  const Shape &y = op.result()->shape;
  auto sa = broadcastStrides(op.operand(0)->shape, y);
  auto sb = broadcastStrides(op.operand(1)->shape, y);
  auto dims = slots6(y);
  coalesceDims(dims, sa, sb);
  return {
      KernelCall{"binary", "BinaryParams",
                 KernelParam::group(
                     "", {KernelParam::integer("op", binaryId(op)),
                          KernelParam::real("alpha", alphaOf(op)),
                          KernelParam::array("out", {dims.begin(), dims.end()}),
                          KernelParam::array("sa", {sa.begin(), sa.end()}),
                          KernelParam::array("sb", {sb.begin(), sb.end()})})}};
}

int64_t macsElementwise(const Op &op) { return op.result()->numElements(); }

bool isResidualAdd(const Op &op) {
  return binaryId(op) == 0 && alphaOf(op) == 1.0 &&
         op.operand(0)->shape == op.result()->shape &&
         op.operand(1)->shape == op.result()->shape;
}

/// x * 1, x / 1, x - 0 (and x + alpha*0) return x exactly, when the constant
/// does not broadcast x to a larger shape. (x + 0 is not a no-op: -0 + 0 is
/// +0.)
bool binaryIsNoop(const Op &op) {
  Value *b = op.operand(1);
  if (!b->isWeight() || op.result()->shape != op.operand(0)->shape)
    return false;
  int id = binaryId(op);
  float neutral = id >= 2 ? 1.0f : 0.0f;
  if (id == 0 || (id == 1 && alphaOf(op) == 0))
    return false;
  for (float v : *b->data)
    if (v != neutral || std::signbit(v))
      return false;
  return true;
}

// ---- sum / mean

std::vector<Shape> inferReduce(const Op &op) {
  const Shape &x = operandShape(op, 0);
  if (x.size() > kMaxRank)
    op.error("rank " + std::to_string(x.size()) + " is above the supported " +
             std::to_string(kMaxRank));
  const auto &dims = op.getInts("dims");
  for (size_t i = 0; i < dims.size(); ++i)
    if (dims[i] < 0 || dims[i] >= int64_t(std::max<size_t>(1, x.size())) ||
        (i && dims[i] <= dims[i - 1]))
      op.error("dims must be distinct, sorted dims of the input shape " +
               shapeToString(x) + ", found " + shapeToString(dims));
  Shape y;
  for (size_t i = 0; i < x.size(); ++i) {
    bool reduced =
        std::find(dims.begin(), dims.end(), int64_t(i)) != dims.end();
    if (!reduced)
      y.push_back(x[i]);
    else if (op.getBool("keepdim"))
      y.push_back(1);
  }
  return {y};
}

std::array<int64_t, 6> reducedFlags(const Op &op) {
  const Shape &x = op.operand(0)->shape;
  std::array<int64_t, 6> r = {0, 0, 0, 0, 0, 0};
  for (int64_t d : op.getInts("dims"))
    if (!x.empty())
      r[6 - x.size() + size_t(d)] = 1;
  return r;
}

void evalReduce(const Op &op, const std::vector<const float *> &in,
                const std::vector<float *> &out) {
  const Shape &x = op.operand(0)->shape;
  auto dims = slots6(x);
  auto red = reducedFlags(op);
  int64_t total = op.result()->numElements();
  std::vector<double> acc(size_t(total), 0.0);
  int64_t n = op.operand(0)->numElements();
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, o = 0, stride = 1;
    for (int d = 5; d >= 0; --d) {
      int64_t c = rest % dims[size_t(d)];
      rest /= dims[size_t(d)];
      if (!red[size_t(d)]) {
        o += c * stride;
        stride *= dims[size_t(d)];
      }
    }
    acc[size_t(o)] += in[0][i];
  }
  bool mean = std::strcmp(op.name(), "mean") == 0;
  for (int64_t j = 0; j < total; ++j)
    out[0][j] =
        float(mean ? acc[size_t(j)] / double(n / total) : acc[size_t(j)]);
}

std::vector<KernelCall> lowerReduce(const Op &op) {
  auto dims = slots6(op.operand(0)->shape);
  auto red = reducedFlags(op);
  return {KernelCall{
      "reduce", "ReduceParams",
      KernelParam::group(
          "",
          {KernelParam::integer("mean", std::strcmp(op.name(), "mean") == 0),
           KernelParam::array("in", {dims.begin(), dims.end()}),
           KernelParam::array("reduced", {red.begin(), red.end()}),
           KernelParam::integer("count", op.operand(0)->numElements() /
                                             op.result()->numElements())})}};
}

int64_t macsReduce(const Op &op) { return op.operand(0)->numElements(); }

// ---- cat

std::vector<Shape> inferCat(const Op &op) {
  const Shape &first = operandShape(op, 0);
  int64_t d = op.getInt("dim");
  if (d < 0 || d >= int64_t(first.size()))
    op.error("dim " + std::to_string(d) + " is out of range for shape " +
             shapeToString(first));
  Shape y = first;
  y[size_t(d)] = 0;
  for (size_t i = 0; i < op.operands.size(); ++i) {
    const Shape &s = operandShape(op, i);
    bool ok = s.size() == first.size();
    for (size_t j = 0; ok && j < s.size(); ++j)
      ok = j == size_t(d) || s[j] == first[j];
    if (!ok)
      op.error("operand " + std::to_string(i) + " of shape " +
               shapeToString(s) + " does not match " + shapeToString(first) +
               " outside dim " + std::to_string(d));
    y[size_t(d)] += s[size_t(d)];
  }
  return {y};
}

/// [outer, inner] of operand i around the cat dim, and its column offset.
struct Slice {
  int64_t outer, inner, outInner, offset;
};

Slice sliceOf(const Op &op, size_t i) {
  int64_t d = op.getInt("dim");
  const Shape &y = op.result()->shape;
  int64_t outer = 1, tail = 1;
  for (int64_t j = 0; j < int64_t(y.size()); ++j)
    if (j < d)
      outer *= y[size_t(j)];
    else if (j > d)
      tail *= y[size_t(j)];
  int64_t offset = 0;
  for (size_t k = 0; k < i; ++k)
    offset += op.operand(k)->shape[size_t(d)] * tail;
  return {outer, op.operand(i)->shape[size_t(d)] * tail, y[size_t(d)] * tail,
          offset};
}

void evalCat(const Op &op, const std::vector<const float *> &in,
             const std::vector<float *> &out) {
  for (size_t i = 0; i < op.operands.size(); ++i) {
    Slice s = sliceOf(op, i);
    for (int64_t o = 0; o < s.outer; ++o)
      std::copy(in[i] + o * s.inner, in[i] + (o + 1) * s.inner,
                out[0] + o * s.outInner + s.offset);
  }
}

std::vector<KernelCall> lowerCat(const Op &op) {
  std::vector<KernelCall> calls;
  for (size_t i = 0; i < op.operands.size(); ++i) {
    Slice s = sliceOf(op, i);
    calls.push_back(KernelCall{
        "copy_slice",
        "SliceParams",
        KernelParam::group("", {KernelParam::integer("outer", s.outer),
                                KernelParam::integer("inner", s.inner),
                                KernelParam::integer("out_inner", s.outInner),
                                KernelParam::integer("offset", s.offset)}),
        {int(i), -1}});
  }
  return calls;
}

} // namespace

#define KILN_BINARY_OP(var, opname, attrs_)                                    \
  extern const OpDef var = {.name = opname,                                    \
                            .operands = {{"a"}, {"b"}},                        \
                            .attrs = attrs_,                                   \
                            .inferShapes = inferBinary,                        \
                            .evaluate = evalBinary,                            \
                            .lower = lowerBinary,                              \
                            .macs = macsElementwise,                           \
                            .isNoop = binaryIsNoop};
extern const OpDef kAddOp = {.name = "add",
                             .operands = {{"a"}, {"b"}},
                             .attrs = {{"alpha", AttrKind::Float}},
                             .inferShapes = inferBinary,
                             .evaluate = evalBinary,
                             .lower = lowerBinary,
                             .macs = macsElementwise,
                             .isNoop = binaryIsNoop,
                             .isResidualAdd = isResidualAdd};
KILN_BINARY_OP(kSubOp, "sub",
               (std::vector<AttrSpec>{{"alpha", AttrKind::Float}}))
KILN_BINARY_OP(kMulOp, "mul", {})
KILN_BINARY_OP(kDivOp, "div", {})
#undef KILN_BINARY_OP

extern const OpDef kSumOp = {
    .name = "sum",
    .operands = {{"input"}},
    .attrs = {{"dims", AttrKind::Ints}, {"keepdim", AttrKind::Bool}},
    .inferShapes = inferReduce,
    .evaluate = evalReduce,
    .lower = lowerReduce,
    .macs = macsReduce};

extern const OpDef kMeanOp = {
    .name = "mean",
    .operands = {{"input"}},
    .attrs = {{"dims", AttrKind::Ints}, {"keepdim", AttrKind::Bool}},
    .inferShapes = inferReduce,
    .evaluate = evalReduce,
    .lower = lowerReduce,
    .macs = macsReduce};

extern const OpDef kCatOp = {.name = "cat",
                             .operands = {{"inputs", false, true}},
                             .attrs = {{"dim", AttrKind::Int}},
                             .inferShapes = inferCat,
                             .evaluate = evalCat,
                             .lower = lowerCat};

} // namespace kiln::ops
