// Op `transpose`: the dims of the input in another order (torch.permute;
// torch.transpose is the permutation that swaps two dims). Data moves: the
// result is contiguous.
//   operands: input
//   attrs: perm (result dim i is input dim perm[i]; a permutation of
//          0..rank-1, rank <= 6)
#include "ir/ops/op_helpers.h"

#include <algorithm>
#include <array>

namespace kiln::ops {
namespace {

constexpr size_t kMaxRank = 6;

std::vector<Shape> inferTranspose(const Op &op) {
  const Shape &x = operandShape(op, 0);
  const auto &perm = op.getInts("perm");
  if (x.size() > kMaxRank)
    op.error("rank " + std::to_string(x.size()) + " is above the supported " +
             std::to_string(kMaxRank));
  if (perm.size() != x.size())
    op.error("perm " + shapeToString(perm) + " has " +
             std::to_string(perm.size()) + " entries, the input shape " +
             shapeToString(x) + " has rank " + std::to_string(x.size()));
  std::vector<bool> seen(x.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(x.size()) || seen[size_t(p)])
      op.error("perm " + shapeToString(perm) +
               " is not a permutation of the dims 0.." +
               std::to_string(int64_t(x.size()) - 1) + " of the input shape " +
               shapeToString(x));
    seen[size_t(p)] = true;
  }
  Shape y;
  for (int64_t p : perm)
    y.push_back(x[size_t(p)]);
  return {y};
}

/// Row-major element strides of `s`.
std::vector<int64_t> stridesOf(const Shape &s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;)
    st[i - 1] = st[i] * s[i];
  return st;
}

/// The copy as (size, input stride) per output dim, outermost first, with
/// size-1 dims dropped and neighbours that stay contiguous merged
/// (`a` then `b` merge when stride(a) == size(b) * stride(b)).
std::vector<std::pair<int64_t, int64_t>> copyDims(const Op &op) {
  const Shape &x = op.operand(0)->shape;
  std::vector<int64_t> st = stridesOf(x);
  std::vector<std::pair<int64_t, int64_t>> dims;
  for (int64_t p : op.getInts("perm")) {
    int64_t size = x[size_t(p)], stride = st[size_t(p)];
    if (size == 1)
      continue;
    if (!dims.empty() && dims.back().second == size * stride) {
      dims.back() = {dims.back().first * size, stride};
      continue;
    }
    dims.push_back({size, stride});
  }
  return dims;
}

void evalTranspose(const Op &op, const std::vector<const float *> &in,
                   const std::vector<float *> &out) {
  const Shape &x = op.operand(0)->shape, &y = op.result()->shape;
  const auto &perm = op.getInts("perm");
  std::vector<int64_t> st = stridesOf(x);
  int64_t n = op.result()->numElements();
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, src = 0;
    for (size_t d = y.size(); d-- > 0;) {
      src += (rest % y[d]) * st[size_t(perm[d])];
      rest /= y[d];
    }
    out[0][i] = in[0][src];
  }
}

std::vector<KernelCall> lowerTranspose(const Op &op) {
  // Loops as (size, input stride, output stride), in output order.
  auto dims = copyDims(op);
  std::vector<std::array<int64_t, 3>> loops;
  int64_t outStride = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    loops.insert(loops.begin(), {dims[i].first, dims[i].second, outStride});
    outStride *= dims[i].first;
  }
  // The input's contiguous dim goes just inside the output's last one, so
  // that the kernel transposes the two innermost loops tile by tile.
  if (loops.size() >= 2 && loops.back()[1] != 1) {
    auto q = std::find_if(loops.begin(), loops.end(),
                          [](const auto &l) { return l[1] == 1; });
    if (q != loops.end()) {
      auto l = *q;
      loops.erase(q);
      loops.insert(loops.end() - 1, l);
    }
  }
  std::vector<int64_t> out(kMaxRank, 1), sx(kMaxRank, 0), sy(kMaxRank, 0);
  for (size_t i = 0; i < loops.size(); ++i) {
    size_t slot = kMaxRank - loops.size() + i;
    out[slot] = loops[i][0];
    sx[slot] = loops[i][1];
    sy[slot] = loops[i][2];
  }
  if (loops.empty()) // one element
    sx.back() = sy.back() = 1;
  return {KernelCall{"transpose", "TransposeParams",
                     KernelParam::group("", {KernelParam::array("out", out),
                                             KernelParam::array("sx", sx),
                                             KernelParam::array("sy", sy)})}};
}

bool transposeIsNoop(const Op &op) {
  const auto &perm = op.getInts("perm");
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != int64_t(i))
      return false;
  return true;
}

} // namespace

extern const OpDef kTransposeOp = {.name = "transpose",
                                   .operands = {{"input"}},
                                   .attrs = {{"perm", AttrKind::Ints}},
                                   .inferShapes = inferTranspose,
                                   .evaluate = evalTranspose,
                                   .lower = lowerTranspose,
                                   .isNoop = transposeIsNoop};

} // namespace kiln::ops
