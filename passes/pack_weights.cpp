// Pass pack-weights: lowers each `conv` whose weights are constants and
// whose groups have at least 4 output channels to `conv_gemm`, and each
// `conv_transpose` with constant weights to `conv_transpose_gemm`, with the
// weights packed at compile time into the GEMM kernels' layouts
// (runtime/kiln/kernels/packing.h) and the tiles chosen for this layer and
// this target:
//   mr  conv: the block of output channels; conv_transpose: the input
//       positions a tile; the largest of 4, 6, 8, 12, 16 that the ISA's
//       registers hold with the fewest padded rows;
//   kc  conv: the k chunk, so that a packed input strip (kc x NR floats)
//       fills at most half of the L1 data cache; all of K when it is at
//       most 1.5 kc.
// Parameters: `pack-weights<isa=NAME,l1=BYTES>` (isa: avx512, avx2, neon,
// portable, scalar; default portable and 32768). Depthwise and other
// narrow-group convs keep the direct `conv` kernel.
#include "ir/op_registry.h"
#include "ir/ops/op_helpers.h"
#include "passes/pass.h"
#include "runtime/kiln/kernels/packing.h"
#include "runtime/kiln/ukernels/tiles.h"
#include "support/error.h"

#include <cstring>

namespace kiln {
namespace {

class PackWeights : public Pass {
public:
  explicit PackWeights(const std::string &params) {
    std::string isa = "portable";
    size_t pos = 0;
    while (pos < params.size()) {
      size_t end = params.find(',', pos);
      if (end == std::string::npos)
        end = params.size();
      std::string kv = params.substr(pos, end - pos);
      size_t eq = kv.find('=');
      std::string key = kv.substr(0, eq),
                  value = eq == std::string::npos ? "" : kv.substr(eq + 1);
      if (key == "isa") {
        isa = value;
      } else if (key == "l1") {
        char *rest = nullptr;
        long long v = std::strtoll(value.c_str(), &rest, 10);
        if (value.empty() || *rest || v < 1024 || v > (1 << 24))
          throw Error("kiln", "--passes",
                      "pack-weights: l1 expects a byte count in [1024, 2^24], "
                      "found \"" + value + "\"");
        l1_ = int(v);
      } else {
        throw Error("kiln", "--passes",
                    "pack-weights: unknown parameter \"" + key +
                        "\" (parameters: isa, l1)");
      }
      pos = end + 1;
    }
    bool known = false;
    for (const kiln_rt::uk::IsaTile &t : kiln_rt::uk::kIsaTiles)
      known |= isa == t.isa;
    if (!known)
      throw Error("kiln", "--passes",
                  "pack-weights: unknown isa \"" + isa +
                      "\" (avx512, avx2, neon, portable, scalar)");
    tile_ = kiln_rt::uk::isa_tile(isa.c_str());
  }

  const char *name() const override { return "pack-weights"; }
  const char *description() const override {
    return "lower conv / conv_transpose to GEMM kernels on packed weights";
  }

  bool run(Graph &g) override {
    const OpDef *conv = findOp("conv"), *convT = findOp("conv_transpose");
    KILN_ASSERT(conv && convT, "conv and conv_transpose are in the op table");
    bool changed = false;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      Op *op = g.ops[i].get();
      if ((op->def != conv && op->def != convT) ||
          !op->operand(1)->isWeight())
        continue;
      Op *lowered = op->def == conv ? lowerConv(g, *op)
                                    : lowerConvTranspose(g, *op);
      if (!lowered)
        continue;
      // The lowered op took the old one's place at the end of the list.
      std::swap(g.ops[i], g.ops.back());
      g.ops.pop_back();
      changed = true;
    }
    if (changed)
      g.removeUnusedWeights();
    return changed;
  }

private:
  /// Replaces `op` by `def` with weight `packed` and extra attributes,
  /// appended to the op list (the caller moves it into place).
  Op *replace(Graph &g, Op &op, const char *def, Value *packed,
              AttrMap extra) {
    AttrMap attrs = op.attrs;
    const Shape &w = op.operand(1)->shape;
    attrs["kernel"] = std::vector<int64_t>(w.begin(), w.end());
    for (auto &[k, v] : extra)
      attrs[k] = v;
    std::vector<Value *> operands = op.operands;
    operands[1] = packed;
    Op *lowered =
        g.addOp(*findOp(def), operands, attrs, op.loc, op.result()->name);
    g.replaceAllUsesWith(op.result(), lowered->result());
    lowered->result()->name = op.result()->name;
    return lowered;
  }

  /// conv -> conv_gemm (null if kept: fewer than 4 channels a group).
  Op *lowerConv(Graph &g, Op &op) {
    const Shape &w = op.operand(1)->shape;
    int64_t groups = op.getInt("groups"), coutG = w[0] / groups;
    if (coutG < 4)
      return nullptr;
    int64_t k = numElements(w) / w[0];
    int mr = chooseMr(coutG), kc = chooseKc(k);
    Value *packed = g.addWeight(
        op.operand(1)->name + ".packed",
        {groups, (coutG + mr - 1) / mr, k, mr},
        pack(*op.operand(1)->data, int(groups), int(coutG), k, mr));
    return replace(g, op, "conv_gemm", packed,
                   {{"mr", int64_t(mr)},
                    {"kc", int64_t(kc)},
                    {"nr", int64_t(tile_.lanes) * tile_.vecs}});
  }

  /// conv_transpose -> conv_transpose_gemm.
  Op *lowerConvTranspose(Graph &g, Op &op) {
    const Shape &w = op.operand(1)->shape, &x = op.operand(0)->shape;
    int groups = int(op.getInt("groups")), cinG = int(w[0]) / groups;
    int64_t cols = numElements(w) / w[0];
    int mr = chooseMr(numElements(x) / (x[0] * x[1]));
    const std::vector<float> &src = *op.operand(1)->data;
    auto out = std::make_shared<std::vector<float>>(
        size_t(kiln_rt::strip_packed_size(groups, cols, cinG)), 0.0f);
    for (int gi = 0; gi < groups; ++gi)
      for (int icg = 0; icg < cinG; ++icg)
        for (int64_t col = 0; col < cols; ++col)
          (*out)[size_t(kiln_rt::strip_packed_offset(cols, cinG, gi, icg,
                                                     col))] =
              src[size_t((int64_t(gi) * cinG + icg) * cols + col)];
    Value *packed = g.addWeight(
        op.operand(1)->name + ".packed",
        {groups, kiln_rt::packed_strips(cols), cinG, kiln_rt::kStripCols},
        out);
    return replace(g, op, "conv_transpose_gemm", packed,
                   {{"mr", int64_t(mr)}});
  }

  /// The block height with the fewest padded rows (then the tallest) among
  /// those the ISA's registers hold.
  int chooseMr(int64_t coutG) const {
    int best = 4;
    int64_t bestPad = -1;
    for (int mr : {4, 6, 8, 12, 16}) {
      if (mr > tile_.max_rows && mr != 4)
        continue;
      int64_t pad = (coutG + mr - 1) / mr * mr - coutG;
      if (bestPad < 0 || pad <= bestPad) {
        best = mr;
        bestPad = pad;
      }
    }
    return best;
  }

  /// The k chunk: a kc x NR packed strip in half the L1 cache.
  int chooseKc(int64_t k) const {
    int64_t nr = int64_t(tile_.lanes) * tile_.vecs;
    int64_t kc = std::max<int64_t>(16, l1_ / 2 / (nr * 4));
    if (k <= kc + kc / 2)
      return int(k);
    int64_t chunks = (k + kc - 1) / kc;
    return int((k + chunks - 1) / chunks);
  }

  static std::shared_ptr<const std::vector<float>>
  pack(const std::vector<float> &w, int groups, int coutG, int64_t k, int mr) {
    auto out = std::make_shared<std::vector<float>>(
        size_t(kiln_rt::packed_weight_size(groups, coutG, k, mr)), 0.0f);
    for (int g = 0; g < groups; ++g)
      for (int oc = 0; oc < coutG; ++oc)
        for (int64_t kk = 0; kk < k; ++kk)
          (*out)[size_t(kiln_rt::packed_weight_offset(coutG, k, mr, g, oc,
                                                      kk))] =
              w[size_t((int64_t(g) * coutG + oc) * k + kk)];
    return out;
  }

  kiln_rt::uk::IsaTile tile_ = kiln_rt::uk::isa_tile("portable");
  int l1_ = 32768;
};

} // namespace

std::unique_ptr<Pass> createPackWeights(const std::string &params) {
  return std::make_unique<PackWeights>(params);
}

} // namespace kiln
