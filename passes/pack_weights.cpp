// Pass pack-weights: every op whose op-table entry can lower itself for a
// target (OpDef::packForTarget: conv -> conv_gemm, conv_transpose ->
// conv_transpose_phases or conv_transpose_gemm) is replaced by its lowering,
// with its weights packed at compile time into the GEMM kernels' layouts
// (runtime/kiln/kernels/packing.h) and tiles chosen for this layer and this
// target's micro-kernel (the tile table of runtime/kiln/ukernels/tiles.h):
//   mr  conv: the block of output channels; conv_transpose_phases: the
//       block of taps; conv_transpose_gemm: the input positions a tile; of 4,
//       6, 8, 12, 16, the fewest padded rows among the heights the ISA's
//       registers hold;
//   kc  conv: the k chunk, so that a packed input strip (kc x NR floats)
//       fills at most half of the L1 data cache;
//   nr  conv: the strip width the scratch is planned for.
// 3x3 stride-1 dense convs become conv_winograd (filters transformed at
// compile time) where its cost model says Winograd pays, on vector ISAs.
// Parameters: `pack-weights<isa=NAME,l1=BYTES,winograd=on|off>` (isa:
// avx512, avx2, neon, portable, scalar; default portable, 32768, on).
// Depthwise and other narrow-group convs keep the direct `conv` kernel.

#include "ir/op_def.h"
#include "passes/pass.h"
#include "runtime/kiln/ukernels/tiles.h"
#include "support/error.h"

#include <cstdlib>

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
                      "found \"" +
                          value + "\"");
        target_.l1Bytes = v;
      } else if (key == "winograd") {
        if (value != "on" && value != "off")
          throw Error("kiln", "--passes",
                      "pack-weights: winograd expects on or off, found \"" +
                          value + "\"");
        target_.winograd = value == "on";
      } else {
        throw Error("kiln", "--passes",
                    "pack-weights: unknown parameter \"" + key +
                        "\" (parameters: isa, l1, winograd)");
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
    const kiln_rt::uk::IsaTile tile = kiln_rt::uk::isa_tile(isa.c_str());
    target_.lanes = tile.lanes;
    target_.vecs = tile.vecs;
    target_.maxRows = tile.max_rows;
  }

  const char *name() const override { return "pack-weights"; }
  const char *description() const override {
    return "lower conv / conv_transpose to GEMM and Winograd kernels on "
           "packed weights";
  }

  bool run(Graph &g) override {
    bool changed = false;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      Op *op = g.ops[i].get();
      if (!op->def->packForTarget || !op->def->packForTarget(g, *op, target_))
        continue;
      // The lowered op was appended: it takes the old one's place.
      std::swap(g.ops[i], g.ops.back());
      g.ops.pop_back();
      changed = true;
    }
    if (changed)
      g.removeUnusedWeights();
    return changed;
  }

private:
  TileTarget target_;
};

} // namespace

std::unique_ptr<Pass> createPackWeights(const std::string &params) {
  return std::make_unique<PackWeights>(params);
}

} // namespace kiln
