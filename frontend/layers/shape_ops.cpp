// Functional ops that rearrange or cut tensors, and matmul:
//   squeeze / unsqueeze: views (a `reshape` op, or nothing when the shape
//     does not change);
//   permute / transpose: a `transpose` op with the permutation; a
//     permutation that only moves size-1 dims keeps the element order and
//     becomes a `reshape` (a view, no copy), the identity becomes nothing;
//   chunk / split: one `slice` op per piece (several outputs; the step must
//     name as many as PyTorch returns);
//   matmul: the `matmul` op (PyTorch's 1-D promotion and batch broadcasting).
// Dims follow PyTorch's wrap rule (negative counts from the end; a 0-d
// tensor takes -1 and 0); errors are located at the argument.
#include "frontend/layers/layer_helpers.h"

#include <algorithm>

namespace kiln {
namespace {

/// The dim argument `arg` wrapped for `rank` (`what` names it in messages),
/// or an error at the argument naming the valid range.
int64_t wrappedDim(BuildContext &ctx, const JsonNode &node, int64_t d,
                   int64_t rank, const Shape &shape,
                   const std::string &what = "dim") {
  int64_t w = wrapDim(d, rank);
  if (w < 0) {
    int64_t r = std::max<int64_t>(rank, 1);
    node.error(ctx.spec.name + ": " + what + " " + std::to_string(d) +
               " is out of range for an input of shape " +
               shapeToString(shape) + " (expected a dim in [" +
               std::to_string(-r) + ", " + std::to_string(r - 1) + "])");
  }
  return w;
}

std::string listToString(const std::vector<int64_t> &v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::vector<Value *> buildSqueeze(BuildContext &ctx) {
  Value *x = ctx.input(0);
  const Shape &s = x->shape;
  int64_t rank = int64_t(s.size());
  std::vector<bool> drop(s.size(), false);
  JsonNode dn = ctx.args.node("dim");
  if (dn.isNull()) {
    for (size_t i = 0; i < s.size(); ++i)
      drop[i] = s[i] == 1;
  } else {
    // An int, or a list of ints (PyTorch 2's tuple form).
    std::vector<int64_t> given =
        dn.isArray() ? dn.asIntList() : std::vector<int64_t>{dn.asInt()};
    std::vector<int64_t> seen;
    for (int64_t d : given) {
      int64_t w = wrappedDim(ctx, dn, d, rank, s);
      if (std::find(seen.begin(), seen.end(), w) != seen.end())
        dn.error("squeeze: dim " + std::to_string(d) +
                 " appears more than once in " + dn.json().dump());
      seen.push_back(w);
      // A dim whose size is not 1 stays (PyTorch: a no-op, not an error).
      if (rank > 0 && s[size_t(w)] == 1)
        drop[size_t(w)] = true;
    }
  }
  Shape y;
  for (size_t i = 0; i < s.size(); ++i)
    if (!drop[i])
      y.push_back(s[i]);
  return {layers::reshape(ctx, x, y)};
}

std::vector<Value *> buildUnsqueeze(BuildContext &ctx) {
  Value *x = ctx.input(0);
  int64_t rank = int64_t(x->shape.size());
  int64_t w = wrappedDim(ctx, ctx.args.node("dim"), ctx.args.integer("dim"),
                         rank + 1, x->shape);
  Shape y = x->shape;
  y.insert(y.begin() + w, 1);
  return {layers::reshape(ctx, x, y)};
}

/// x with its dims in the order `perm`: nothing for the identity, a
/// reshape when only size-1 dims move, a transpose op otherwise.
Value *permuted(BuildContext &ctx, Value *x, const std::vector<int64_t> &perm) {
  Shape y;
  std::vector<int64_t> moved; // the input dims of size > 1, in result order
  for (int64_t p : perm) {
    y.push_back(x->shape[size_t(p)]);
    if (x->shape[size_t(p)] != 1)
      moved.push_back(p);
  }
  if (std::is_sorted(moved.begin(), moved.end()))
    return layers::reshape(ctx, x, y);
  return ctx.emit("transpose", {x}, {{"perm", perm}})->result();
}

std::vector<Value *> buildPermute(BuildContext &ctx) {
  Value *x = ctx.input(0);
  int64_t rank = int64_t(x->shape.size());
  JsonNode dn = ctx.args.node("dims");
  std::vector<int64_t> dims = dn.asIntList();
  if (int64_t(dims.size()) != rank)
    dn.error("permute: dims " + dn.json().dump() + " has " +
             std::to_string(dims.size()) + " entries, the input of shape " +
             shapeToString(x->shape) + " has rank " + std::to_string(rank) +
             " (one entry per dim)");
  std::vector<int64_t> perm;
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t w = wrappedDim(ctx, dn[i], dims[i], rank, x->shape);
    if (std::find(perm.begin(), perm.end(), w) != perm.end())
      dn.error("permute: dims " + dn.json().dump() + " names dim " +
               std::to_string(w) +
               " twice (expected a permutation of the input's dims)");
    perm.push_back(w);
  }
  return {permuted(ctx, x, perm)};
}

std::vector<Value *> buildTranspose(BuildContext &ctx) {
  Value *x = ctx.input(0);
  int64_t rank = int64_t(x->shape.size());
  int64_t a = wrappedDim(ctx, ctx.args.node("dim0"), ctx.args.integer("dim0"),
                         rank, x->shape, "dim0");
  int64_t b = wrappedDim(ctx, ctx.args.node("dim1"), ctx.args.integer("dim1"),
                         rank, x->shape, "dim1");
  std::vector<int64_t> perm;
  for (int64_t i = 0; i < rank; ++i)
    perm.push_back(i);
  if (rank > 0)
    std::swap(perm[size_t(a)], perm[size_t(b)]);
  return {permuted(ctx, x, perm)};
}

/// The name of piece `j`: the step's `out` name when it is a list of
/// names, else the step's result name with a `.j` suffix.
std::string pieceName(const BuildContext &ctx, size_t j) {
  if (ctx.step && ctx.step->has("out")) {
    JsonNode out = ctx.step->at("out");
    if (out.isArray() && j < out.size() && out[j].isString())
      return ctx.modulePath.empty() ? out[j].asString()
                                    : ctx.modulePath + "." + out[j].asString();
  }
  return ctx.resultName + "." + std::to_string(j);
}

/// The pieces of x along dim `d` with these sizes, one slice op each. The
/// step must name one output per piece (`rule` explains the count).
std::vector<Value *> pieces(BuildContext &ctx, Value *x, int64_t d,
                            const std::vector<int64_t> &sizes,
                            const std::string &rule) {
  if (ctx.step && ctx.step->has("out")) {
    JsonNode out = ctx.step->at("out");
    size_t named = out.isArray() ? out.size() : 1;
    if (named != sizes.size())
      out.error(ctx.spec.name + ": " + rule + " gives " +
                std::to_string(sizes.size()) + " piece(s) of sizes " +
                listToString(sizes) + " along dim " + std::to_string(d) +
                " of the input of shape " + shapeToString(x->shape) +
                ", as PyTorch does; the step names " + std::to_string(named) +
                " output(s)");
  }
  if (sizes.size() == 1)
    return {x};
  std::vector<Value *> r;
  int64_t start = 0;
  for (size_t j = 0; j < sizes.size(); ++j) {
    BuildContext c = ctx;
    c.resultName = pieceName(ctx, j);
    r.push_back(c.emit("slice", {x},
                       {{"dim", d},
                        {"start", start},
                        {"end", start + sizes[j]},
                        {"step", int64_t(1)}})
                    ->result());
    start += sizes[j];
  }
  return r;
}

/// The dim along which chunk / split cut, for an input of rank >= 1.
int64_t cutDim(BuildContext &ctx, Value *x) {
  if (x->shape.empty())
    ctx.error("expects an input of at least one dim, found a 0-d tensor");
  return wrappedDim(ctx, ctx.args.node("dim"), ctx.args.integer("dim"),
                    int64_t(x->shape.size()), x->shape);
}

/// Pieces of `size` along a dim of `n` elements (the last one shorter).
std::vector<int64_t> evenPieces(int64_t n, int64_t size) {
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < n; at += size)
    sizes.push_back(std::min(size, n - at));
  return sizes;
}

std::vector<Value *> buildChunk(BuildContext &ctx) {
  Value *x = ctx.input(0);
  int64_t d = cutDim(ctx, x);
  int64_t chunks = ctx.args.integer("chunks");
  if (chunks < 1)
    ctx.args.node("chunks").error("chunk: chunks must be >= 1, found " +
                                  std::to_string(chunks));
  int64_t n = x->shape[size_t(d)];
  // PyTorch: pieces of ceil(n / chunks), so possibly fewer than `chunks`.
  int64_t size = (n + chunks - 1) / chunks;
  return pieces(ctx, x, d, evenPieces(n, size),
                "chunks=" + std::to_string(chunks) + " (pieces of ceil(" +
                    std::to_string(n) + "/" + std::to_string(chunks) +
                    ") = " + std::to_string(size) + ")");
}

std::vector<Value *> buildSplit(BuildContext &ctx) {
  Value *x = ctx.input(0);
  int64_t d = cutDim(ctx, x);
  int64_t n = x->shape[size_t(d)];
  JsonNode sn = ctx.args.node("split_size_or_sections");
  if (sn.isArray()) {
    std::vector<int64_t> sections = sn.asIntList();
    int64_t sum = 0;
    for (size_t i = 0; i < sections.size(); ++i) {
      if (sections[i] < 0)
        sn[i].error("split: sections must be >= 0, found " +
                    std::to_string(sections[i]));
      if (sections[i] == 0)
        sn[i].error("split: a section of size 0 is not supported (Kiln "
                    "values have no empty dims)");
      if (sections[i] > n)
        sn[i].error("split: section " + std::to_string(sections[i]) +
                    " is larger than dim " + std::to_string(d) + " (size " +
                    std::to_string(n) + ") of the input of shape " +
                    shapeToString(x->shape));
      sum += sections[i];
    }
    if (sum != n)
      sn.error("split: sections " + sn.json().dump() + " sum to " +
               std::to_string(sum) + ", expected the size of dim " +
               std::to_string(d) + " of the input of shape " +
               shapeToString(x->shape) + ", " + std::to_string(n));
    return pieces(ctx, x, d, sections, "sections " + sn.json().dump());
  }
  if (!sn.json().is_number_integer())
    sn.error("split: expected an integer or a list of integers, found " +
             sn.describe());
  int64_t size = sn.asInt();
  if (size < 1)
    sn.error("split: split_size must be >= 1, found " + std::to_string(size));
  return pieces(ctx, x, d, evenPieces(n, std::min(size, n)),
                "split_size=" + std::to_string(size));
}

std::vector<Value *> buildMatmul(BuildContext &ctx) {
  return {ctx.emit("matmul", {ctx.input(0), ctx.input(1)}, {})->result()};
}

} // namespace

void addShapeFunctionals(std::vector<OpSpec> &t) {
  t.push_back({"squeeze",
               {{"dim", ArgKind::Any, "null"}},
               0,
               1,
               1,
               false,
               false,
               buildSqueeze});
  t.push_back({"unsqueeze",
               {{"dim", ArgKind::Int, nullptr}},
               0,
               1,
               1,
               false,
               false,
               buildUnsqueeze});
  t.push_back({"permute",
               {{"dims", ArgKind::IntList, nullptr}},
               0,
               1,
               1,
               false,
               false,
               buildPermute});
  t.push_back(
      {"transpose",
       {{"dim0", ArgKind::Int, nullptr}, {"dim1", ArgKind::Int, nullptr}},
       0,
       1,
       1,
       false,
       false,
       buildTranspose});
  t.push_back({"chunk",
               {{"chunks", ArgKind::Int, nullptr}, {"dim", ArgKind::Int, "0"}},
               0,
               1,
               1,
               false,
               false,
               buildChunk});
  t.push_back({"split",
               {{"split_size_or_sections", ArgKind::Any, nullptr},
                {"dim", ArgKind::Int, "0"}},
               0,
               1,
               1,
               false,
               false,
               buildSplit});
  t.push_back({"matmul", {}, 0, 2, 2, false, false, buildMatmul});
}

} // namespace kiln
