// The arena plan: tensors that are live at the same op never share bytes
// (checked against live sets recomputed here, op by op, on hand-written
// graphs and on every reference model before and after the default
// pipeline), an op's results never share bytes with its operands, and
// tensors whose lives do not meet do share (the arena of a chain is two
// slots, not one per tensor).
#include "codegen/buffer_plan.h"

#include "frontend/model_loader.h"
#include "ir/op_def.h"
#include "ir/parser.h"
#include "passes/pass.h"
#include "passes/pass_manager.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

namespace kiln {
namespace {

namespace fs = std::filesystem;

const Value *rootOf(const Value *v) {
  while (v->producer && v->producer->def->isView)
    v = v->producer->operands[0];
  return v;
}

/// Checks `plan` against live sets computed op by op: at op p, the arena
/// tensors read or written by p, and those written before p and read after
/// p (directly or through a view), must occupy disjoint bytes. Returns the
/// number of op positions checked.
size_t expectNoLiveOverlap(const Graph &g, const BufferPlan &plan) {
  std::map<const Value *, std::pair<size_t, size_t>> life; // def, last use
  for (size_t p = 0; p < g.ops.size(); ++p) {
    for (const Value *o : g.ops[p]->operands)
      if (o && life.count(rootOf(o)))
        life[rootOf(o)].second = p;
    for (const Value *r : g.ops[p]->results) {
      auto it = plan.storage.find(r);
      EXPECT_NE(it, plan.storage.end()) << r->name << " has no storage";
      if (!g.ops[p]->def->isView && it != plan.storage.end() &&
          it->second.kind == Storage::Kind::Arena)
        life[r] = {p, p};
    }
  }
  for (size_t p = 0; p < g.ops.size(); ++p) {
    std::vector<const Value *> live;
    for (const auto &[v, span] : life)
      if (span.first <= p && p <= span.second)
        live.push_back(v);
    for (size_t i = 0; i < live.size(); ++i) {
      int64_t a = plan.storage.at(live[i]).offset;
      int64_t ae = a + live[i]->numElements() * 4;
      EXPECT_LE(ae, plan.arenaBytes) << live[i]->name;
      for (size_t j = i + 1; j < live.size(); ++j) {
        int64_t b = plan.storage.at(live[j]).offset;
        int64_t be = b + live[j]->numElements() * 4;
        EXPECT_TRUE(ae <= b || be <= a)
            << "%" << live[i]->name << " [" << a << ", " << ae << ") and %"
            << live[j]->name << " [" << b << ", " << be
            << ") are both live at op " << p << " (" << g.ops[p]->def->name
            << ")";
      }
    }
  }
  return g.ops.size();
}

TEST(BufferPlan, ChainReusesTwoSlots) {
  auto g = parseGraph(R"(graph @chain(%x: f32[1,16]) -> (y: f32[1,16]) {
  %a = relu(%x) : f32[1,16]
  %b = sigmoid(%a) : f32[1,16]
  %c = tanh(%b) : f32[1,16]
  %d = relu(%c) : f32[1,16]
  %y = sigmoid(%d) : f32[1,16]
  return y = %y
}
)",
                      "chain.kir");
  BufferPlan plan = planBuffers(*g);
  EXPECT_EQ(plan.unsharedArenaBytes, 4 * 64);
  EXPECT_EQ(plan.arenaBytes, 2 * 64);
  expectNoLiveOverlap(*g, plan);
}

TEST(BufferPlan, SkipConnectionStaysLive) {
  // %a is read again by the add at the end: it may share with nothing.
  auto g = parseGraph(R"(graph @skip(%x: f32[1,16]) -> (y: f32[1,16]) {
  %a = relu(%x) : f32[1,16]
  %b = sigmoid(%a) : f32[1,16]
  %c = tanh(%b) : f32[1,16]
  %d = relu(%c) : f32[1,16]
  %y = add(%d, %a) {alpha = 1.0} : f32[1,16]
  return y = %y
}
)",
                      "skip.kir");
  BufferPlan plan = planBuffers(*g);
  EXPECT_EQ(plan.arenaBytes, 3 * 64);
  expectNoLiveOverlap(*g, plan);
}

TEST(BufferPlan, ViewExtendsTheLifeOfItsRoot) {
  // %v reinterprets %a and is read last, so %a lives to the end.
  auto g = parseGraph(R"(graph @view(%x: f32[1,16]) -> (y: f32[1,16]) {
  %a = relu(%x) : f32[1,16]
  %v = reshape(%a) {shape = [16]} : f32[16]
  %b = sigmoid(%a) : f32[1,16]
  %c = tanh(%b) : f32[1,16]
  %y = add(%c, %v) {alpha = 1.0} : f32[1,16]
  return y = %y
}
)",
                      "view.kir");
  BufferPlan plan = planBuffers(*g);
  EXPECT_EQ(plan.storage.at(g->ops[1]->result()).offset,
            plan.storage.at(g->ops[0]->result()).offset);
  EXPECT_EQ(plan.arenaBytes, 3 * 64);
  expectNoLiveOverlap(*g, plan);
}

TEST(BufferPlan, UnusedResultStillGetsBytes) {
  // The indices of the pool are never read but are written next to the
  // values: both need bytes while the pool runs.
  auto g = parseGraph(R"(graph @idx(%x: f32[1,1,8,8]) -> (y: f32[1,1,4,4]) {
  %a = relu(%x) : f32[1,1,8,8]
  %p.0, %p.1 = max_pool_indices(%a) {ceil_mode = false, dilation = [1, 1], kernel = [2, 2], padding = [0, 0], stride = [2, 2]} : f32[1,1,4,4], i32[1,1,4,4]
  %y = relu(%p.0) : f32[1,1,4,4]
  return y = %y
}
)",
                      "idx.kir");
  BufferPlan plan = planBuffers(*g);
  EXPECT_EQ(plan.arenaBytes, 256 + 64 + 64);
  expectNoLiveOverlap(*g, plan);
}

TEST(BufferPlan, ReferenceModelsBeforeAndAfterPasses) {
  size_t models = 0;
  for (const auto &dir : fs::directory_iterator(KILN_SHARED_DIR "/models")) {
    fs::path json = dir.path() / "model.json";
    if (!fs::exists(json))
      continue;
    std::unique_ptr<Graph> g = loadModel(json.string(), LoadOptions{});
    SCOPED_TRACE(json.string());
    BufferPlan before = planBuffers(*g);
    expectNoLiveOverlap(*g, before);
    EXPECT_LE(before.arenaBytes, before.unsharedArenaBytes);
    PassManager(defaultPipeline()).run(*g);
    expectNoLiveOverlap(*g, planBuffers(*g));
    ++models;
  }
  EXPECT_GE(models, 5u);
}

} // namespace
} // namespace kiln
