// The buffer plan: where every tensor lives while the generated code runs.
// Model inputs and outputs use the caller's buffers, weights the read-only
// blob, and intermediate tensors share one arena: each gets a live range (from
// the op that writes it to the last op that reads it, directly or through a
// view) and tensors whose ranges overlap get disjoint bytes. Offsets are
// chosen greedily, largest tensor first, at the lowest offset that fits
// (the "greedy by size" strategy of TensorFlow Lite's arena planner).
#include "codegen/buffer_plan.h"

#include "ir/op_def.h"
#include "support/error.h"

#include <algorithm>

namespace kiln {

int64_t alignUp(int64_t n) {
  return (n + kBufferAlign - 1) / kBufferAlign * kBufferAlign;
}

/// The value whose bytes `v` reinterprets (itself unless a view).
static const Value *rootOf(const Value *v) {
  while (v->producer && v->producer->def->isView)
    v = v->producer->operands[0];
  return v;
}

namespace {

/// An arena tensor to place: its bytes and live range in op positions.
struct Interval {
  const Value *value; ///< or null for the scratch of `op`
  const Op *op;
  int64_t bytes;
  size_t first, last;
  bool overlaps(const Interval &o) const {
    return first <= o.last && o.first <= last;
  }
};

/// Live ranges of the values that need arena storage, in op order.
std::vector<Interval> liveRanges(const Graph &g, const BufferPlan &plan) {
  std::vector<Interval> ranges;
  std::unordered_map<const Value *, size_t> index;
  for (size_t pos = 0; pos < g.ops.size(); ++pos) {
    const Op &op = *g.ops[pos];
    for (const Value *operand : op.operands) {
      if (!operand)
        continue;
      auto it = index.find(rootOf(operand));
      if (it != index.end())
        ranges[it->second].last = pos;
    }
    if (op.def->isView)
      continue;
    for (const Value *r : op.results)
      if (!plan.storage.count(r)) {
        index[r] = ranges.size();
        ranges.push_back({r, &op, alignUp(r->numElements() * 4), pos, pos});
      }
    if (int64_t bytes = scratchBytes(op))
      ranges.push_back({nullptr, &op, alignUp(bytes), pos, pos});
  }
  // Values copied into outputs after the last op stay live to the end.
  for (const auto &[i, v] : plan.outputCopies) {
    auto it = index.find(rootOf(v));
    if (it != index.end())
      ranges[it->second].last = g.ops.size();
  }
  return ranges;
}

/// Assigns offsets: largest first, each at the lowest offset where it does
/// not overlap a placed tensor whose live range meets its own.
void placeGreedyBySize(std::vector<Interval> &ranges, BufferPlan &plan) {
  std::vector<size_t> order(ranges.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return ranges[a].bytes > ranges[b].bytes;
  });
  std::vector<std::pair<int64_t, int64_t>> busy;  // [offset, end) in conflict
  std::vector<std::pair<size_t, int64_t>> placed; // range index, offset
  for (size_t i : order) {
    const Interval &r = ranges[i];
    busy.clear();
    for (const auto &[j, off] : placed)
      if (ranges[j].overlaps(r))
        busy.push_back({off, off + ranges[j].bytes});
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (const auto &[b, e] : busy) {
      if (b - offset >= r.bytes)
        break;
      offset = std::max(offset, e);
    }
    placed.push_back({i, offset});
    if (r.value)
      plan.storage[r.value] = {Storage::Kind::Arena, 0, offset};
    else
      plan.scratch[r.op] = offset;
    plan.arenaBytes = std::max(plan.arenaBytes, offset + r.bytes);
  }
}

} // namespace

int64_t scratchBytes(const Op &op) {
  int64_t bytes = 0;
  if (op.def->isView || !op.def->lower)
    return 0;
  for (const KernelCall &kc : op.def->lower(op))
    bytes = std::max(bytes, kc.scratchBytes);
  return bytes;
}

BufferPlan planBuffers(const Graph &g) {
  BufferPlan plan;
  for (size_t i = 0; i < g.inputs.size(); ++i)
    plan.storage[g.inputs[i]] = {Storage::Kind::Input, int(i), 0};
  for (const Value *w : g.weights) {
    plan.storage[w] = {Storage::Kind::Weight, 0, plan.weightBytes};
    plan.weightBytes += alignUp(w->numElements() * 4);
  }
  // Outputs produced by an op write straight into the caller's buffer.
  for (size_t i = 0; i < g.outputs.size(); ++i) {
    const Value *root = rootOf(g.outputs[i].second);
    if (root->kind == Value::Kind::Result && !plan.storage.count(root))
      plan.storage[root] = {Storage::Kind::Output, int(i), 0};
    else
      plan.outputCopies.push_back({int(i), g.outputs[i].second});
  }
  std::vector<Interval> ranges = liveRanges(g, plan);
  placeGreedyBySize(ranges, plan);
  for (const Interval &r : ranges)
    plan.unsharedArenaBytes += r.bytes;
  // Views share the storage of the value they reinterpret.
  for (const auto &op : g.ops)
    if (op->def->isView)
      for (const Value *r : op->results) {
        auto it = plan.storage.find(rootOf(r));
        KILN_ASSERT(it != plan.storage.end(), "view of an unplanned value");
        plan.storage[r] = it->second;
      }
  return plan;
}

} // namespace kiln
