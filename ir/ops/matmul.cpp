// Op `matmul`: torch.matmul. A 1-D first operand [k] is taken as [1, k] and
// a 1-D second operand [k] as [k, 1], the added dim being removed from the
// result; then [..., m, k] x [..., k, n] -> [..., m, n], the leading (batch)
// dims broadcast as in elementwise ops. 1-D x 1-D is a dot product (a 0-d
// result).
//   operands: a, b (each of rank 1 to 6; at most 4 batch dims)
#include "ir/ops/op_helpers.h"

#include <algorithm>

namespace kiln::ops {
namespace {

constexpr size_t kMaxBatch = 4;

/// The product as matrices: m, k, n, the broadcast batch shape, and each
/// operand's batch shape (right-aligned, padded with 1s to the result's).
struct MatmulGeom {
  int64_t m, k, n;
  Shape batch, batchA, batchB;
  bool vecA, vecB;
};

MatmulGeom geometry(const Op &op) {
  const Shape &a = operandShape(op, 0), &b = operandShape(op, 1);
  if (a.empty() || b.empty())
    op.error("both operands need at least one dim, found shapes " +
             shapeToString(a) + " and " + shapeToString(b));
  MatmulGeom g;
  g.vecA = a.size() == 1;
  g.vecB = b.size() == 1;
  Shape ma = g.vecA ? Shape{1, a[0]} : a;
  Shape mb = g.vecB ? Shape{b[0], 1} : b;
  g.m = ma[ma.size() - 2];
  g.k = ma.back();
  g.n = mb.back();
  if (mb[mb.size() - 2] != g.k)
    op.error("shapes " + shapeToString(a) + " and " + shapeToString(b) +
             " cannot be multiplied: the " +
             (g.vecA ? std::string("size of the first operand")
                     : std::string("last dim of the first operand")) +
             " (" + std::to_string(g.k) + ") must equal the " +
             (g.vecB ? std::string("size of the second")
                     : std::string("second-to-last dim of the second")) +
             " (" + std::to_string(mb[mb.size() - 2]) + ")");
  Shape ba(ma.begin(), ma.end() - 2), bb(mb.begin(), mb.end() - 2);
  size_t r = std::max(ba.size(), bb.size());
  if (r > kMaxBatch)
    op.error("shapes " + shapeToString(a) + " and " + shapeToString(b) +
             " have " + std::to_string(r) +
             " batch dims, above the supported " + std::to_string(kMaxBatch));
  ba.insert(ba.begin(), r - ba.size(), 1);
  bb.insert(bb.begin(), r - bb.size(), 1);
  for (size_t i = 0; i < r; ++i) {
    if (ba[i] != bb[i] && ba[i] != 1 && bb[i] != 1)
      op.error("the batch dims of shapes " + shapeToString(a) + " and " +
               shapeToString(b) + " do not broadcast (batch dim " +
               std::to_string(i) + ": " + std::to_string(ba[i]) + " vs " +
               std::to_string(bb[i]) + ")");
    g.batch.push_back(std::max(ba[i], bb[i]));
  }
  g.batchA = ba;
  g.batchB = bb;
  return g;
}

std::vector<Shape> inferMatmul(const Op &op) {
  MatmulGeom g = geometry(op);
  Shape y = g.batch;
  if (!g.vecA)
    y.push_back(g.m);
  if (!g.vecB)
    y.push_back(g.n);
  return {y};
}

/// Element strides of a batch shape `s` of matrices of `plane` elements,
/// read as `out` (0 on broadcast dims), right-aligned into kMaxBatch slots.
std::vector<int64_t> batchStrides(const Shape &s, const Shape &out,
                                  int64_t plane) {
  std::vector<int64_t> st(kMaxBatch, 0);
  int64_t stride = plane;
  for (size_t i = s.size(); i-- > 0;) {
    st[kMaxBatch - s.size() + i] = s[i] == 1 && out[i] != 1 ? 0 : stride;
    stride *= s[i];
  }
  return st;
}

void evalMatmul(const Op &op, const std::vector<const float *> &in,
                const std::vector<float *> &out) {
  MatmulGeom g = geometry(op);
  auto sa = batchStrides(g.batchA, g.batch, g.m * g.k);
  auto sb = batchStrides(g.batchB, g.batch, g.k * g.n);
  int64_t batches = numElements(g.batch);
  size_t r = g.batch.size();
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t rest = bi, oa = 0, ob = 0;
    for (size_t d = r; d-- > 0;) {
      int64_t c = rest % g.batch[d];
      rest /= g.batch[d];
      oa += c * sa[kMaxBatch - r + d];
      ob += c * sb[kMaxBatch - r + d];
    }
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t j = 0; j < g.n; ++j) {
        double acc = 0;
        for (int64_t kk = 0; kk < g.k; ++kk)
          acc += double(in[0][oa + i * g.k + kk]) * in[1][ob + kk * g.n + j];
        out[0][(bi * g.m + i) * g.n + j] = float(acc);
      }
  }
}

std::vector<KernelCall> lowerMatmul(const Op &op) {
  MatmulGeom g = geometry(op);
  std::vector<int64_t> batch(kMaxBatch, 1);
  std::copy(g.batch.begin(), g.batch.end(), batch.end() - long(g.batch.size()));
  return {KernelCall{
      "matmul", "MatmulParams",
      KernelParam::group(
          "",
          {KernelParam::array("batch", batch),
           KernelParam::array("sa", batchStrides(g.batchA, g.batch, g.m * g.k)),
           KernelParam::array("sb", batchStrides(g.batchB, g.batch, g.k * g.n)),
           KernelParam::integer("m", g.m), KernelParam::integer("k", g.k),
           KernelParam::integer("n", g.n)})}};
}

int64_t macsMatmul(const Op &op) {
  MatmulGeom g = geometry(op);
  return numElements(g.batch) * g.m * g.k * g.n;
}

} // namespace

extern const OpDef kMatmulOp = {.name = "matmul",
                                .operands = {{"a"}, {"b"}},
                                .inferShapes = inferMatmul,
                                .evaluate = evalMatmul,
                                .lower = lowerMatmul,
                                .macs = macsMatmul};

} // namespace kiln::ops
