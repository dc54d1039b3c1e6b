// `kiln info`: a per-layer summary of a model (op kinds, output shape,
// parameters, multiply-accumulates) and its totals (weights, arena, inputs,
// outputs), for a person deciding whether it fits on a device.
#include "codegen/buffer_plan.h"
#include "ir/op_def.h"
#include "tools/kiln/commands.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

namespace kiln::commands {

namespace {

/// `1234567` -> `1,234,567`.
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  size_t start = digits[0] == '-' ? 1 : 0;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > start && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

/// `1x6x28x28` (`scalar` for a 0-d tensor).
std::string dims(const Shape &shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

/// Whether a JSON path names a step of a `forward` list (a functional op),
/// as opposed to a layer module: its last component is `forward[N]`.
bool isForwardStep(const std::string &path) {
  size_t dot = path.rfind('.');
  std::string last = dot == std::string::npos ? path : path.substr(dot + 1);
  return last.rfind("forward[", 0) == 0;
}

/// One row of the table: the ops built from one layer (one JSON path).
struct Layer {
  std::string path;
  std::vector<const Op *> ops;
  int64_t params = 0;
  int64_t macs = 0;
  /// How many times the layer runs (a module called from several steps).
  int calls = 0;
};

/// The readable name of a layer: its module path for a layer module (the
/// shortest result name among its ops: helper ops carry suffixes such as
/// `.pad` or `.batched`, repeated calls `_1`), the JSON path for a
/// functional step.
std::string layerName(const Layer &l) {
  if (!l.path.empty() && isForwardStep(l.path))
    return l.path;
  std::string best;
  for (const Op *op : l.ops) {
    if (op->results.empty())
      continue;
    const std::string &n = op->result()->name;
    if (best.empty() || n.size() < best.size())
      best = n;
  }
  return best.empty() ? l.path : best;
}

/// The distinct op kinds of a layer, in order: `conv`, `pad+conv`.
std::string opKinds(const Layer &l) {
  std::vector<std::string> kinds;
  for (const Op *op : l.ops)
    if (std::find(kinds.begin(), kinds.end(), op->name()) == kinds.end())
      kinds.push_back(op->name());
  std::string s;
  for (const auto &k : kinds)
    s += (s.empty() ? "" : "+") + k;
  return s;
}

std::string
tensorList(const std::vector<std::pair<std::string, const Value *>> &vs) {
  std::string s;
  for (const auto &[name, v] : vs)
    s += fmt::format("{}{}: {} {}", s.empty() ? "" : ", ", name, dims(v->shape),
                     elemTypeName(v->elemType));
  return s.empty() ? "none" : s;
}

} // namespace

/// The arena of the code `kiln compile` generates (default pipeline), with
/// its size when no tensors share bytes, and the arena of the graph as
/// listed when they differ. Runs the pipeline on `g` itself (its rows are
/// printed by then; the model is not read twice).
static std::string arenaLine(const cli::Options &o, Graph &g, int64_t listed) {
  std::string s;
  int64_t bytes = listed;
  if (o.optLevel < 0 && !o.passes) {
    optimize(g, o, true);
    bytes = planBuffers(g).arenaBytes;
  }
  BufferPlan plan = planBuffers(g);
  s = grouped(bytes) + (bytes == listed ? "" : " as compiled") + " (" +
      grouped(plan.unsharedArenaBytes) + " if no tensors shared bytes";
  if (bytes != listed)
    s += "; " + grouped(listed) + " for the graph above, before optimisation";
  return s + ")";
}

int info(const cli::Options &o) {
  std::unique_ptr<Graph> g = load(o, false);

  // Group the ops by the JSON path of their layer; rows in the order of
  // each layer's first op. A layer's ops are contiguous for each call, so
  // each new run of ops is a call.
  std::vector<Layer> layers;
  std::map<std::string, size_t> index;
  std::unordered_set<const Value *> counted;
  int64_t totalParams = 0, totalMacs = 0, totalBuffers = 0;
  size_t previous = SIZE_MAX;
  for (const auto &opPtr : g->ops) {
    const Op &op = *opPtr;
    auto [it, added] = index.try_emplace(op.loc.path, layers.size());
    if (added)
      layers.push_back(Layer{op.loc.path, {}});
    Layer &l = layers[it->second];
    if (it->second != previous)
      ++l.calls;
    previous = it->second;
    l.ops.push_back(&op);
    for (const Value *v : op.operands)
      if (v && v->isWeight() && counted.insert(v).second)
        (v->buffer ? totalBuffers : l.params) += v->numElements();
    if (op.def->macs)
      l.macs += op.def->macs(op);
  }

  struct Row {
    std::string name, ops, shape, params, macs;
  };
  std::vector<Row> rows;
  rows.push_back({"layer", "ops", "output", "params", "MACs"});
  for (const Layer &l : layers) {
    const Op *last = l.ops.back();
    std::string shape =
        last->results.empty() ? "-" : dims(last->result()->shape);
    std::string name = layerName(l);
    if (l.calls > 1)
      name += fmt::format(" ({} calls)", l.calls);
    rows.push_back(
        {name, opKinds(l), shape, grouped(l.params), grouped(l.macs)});
    totalParams += l.params;
    totalMacs += l.macs;
  }

  size_t w[5] = {0, 0, 0, 0, 0};
  for (const Row &r : rows) {
    w[0] = std::max(w[0], r.name.size());
    w[1] = std::max(w[1], r.ops.size());
    w[2] = std::max(w[2], r.shape.size());
    w[3] = std::max(w[3], r.params.size());
    w[4] = std::max(w[4], r.macs.size());
  }
  fmt::print("model {} ({})\n\n", g->name, o.model);
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row &r = rows[i];
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {:>{}}\n", r.name, w[0], r.ops,
               w[1], r.shape, w[2], r.params, w[3], r.macs, w[4]);
    if (i == 0)
      fmt::print("{}\n",
                 std::string(w[0] + w[1] + w[2] + w[3] + w[4] + 8, '-'));
  }

  BufferPlan plan = planBuffers(*g);
  std::vector<std::pair<std::string, const Value *>> ins, outs;
  for (const Value *v : g->inputs)
    ins.push_back({v->name, v});
  for (const auto &[name, v] : g->outputs)
    outs.push_back({name, v});

  std::vector<std::pair<std::string, std::string>> totals = {
      {"parameters", grouped(totalParams)},
      {"buffers", grouped(totalBuffers) + " (BatchNorm statistics)"},
      {"weight bytes",
       fmt::format("{} ({} as raw float32)", grouped(plan.weightBytes),
                   grouped(4 * (totalParams + totalBuffers)))},
      {"MACs", grouped(totalMacs)},
      {"arena bytes", arenaLine(o, *g, plan.arenaBytes)},
      {"inputs", tensorList(ins)},
      {"outputs", tensorList(outs)},
  };
  size_t kw = 0;
  for (const auto &t : totals)
    kw = std::max(kw, t.first.size());
  fmt::print("\n");
  for (const auto &[k, v] : totals)
    fmt::print("{:<{}}  {}\n", k + ":", kw + 1, v);
  return 0;
}

} // namespace kiln::commands
