// Construction and queries of the IR graph.
#include "ir/graph.h"

#include "ir/op_def.h"
#include "support/error.h"

#include <algorithm>

namespace kiln {

const char *Op::name() const { return def->name; }

template <typename T>
static const T &getAttr(const Op &op, const std::string &name) {
  auto it = op.attrs.find(name);
  KILN_ASSERT(it != op.attrs.end(),
              std::string(op.name()) + " has no attribute " + name);
  const T *v = std::get_if<T>(&it->second);
  KILN_ASSERT(v, std::string(op.name()) + " attribute " + name +
                     " has the wrong kind");
  return *v;
}

int64_t Op::getInt(const std::string &n) const {
  return getAttr<int64_t>(*this, n);
}
double Op::getFloat(const std::string &n) const {
  return getAttr<double>(*this, n);
}
bool Op::getBool(const std::string &n) const { return getAttr<bool>(*this, n); }
const std::string &Op::getString(const std::string &n) const {
  return getAttr<std::string>(*this, n);
}
const std::vector<int64_t> &Op::getInts(const std::string &n) const {
  return getAttr<std::vector<int64_t>>(*this, n);
}

void Op::error(const std::string &message) const {
  throw Error(loc.file, loc.path, std::string(def->name) + ": " + message);
}

Value *Graph::newValue(Value::Kind kind, const std::string &name, Shape shape) {
  auto v = std::make_unique<Value>();
  v->kind = kind;
  v->name = uniqueName(name);
  v->shape = std::move(shape);
  values_.push_back(std::move(v));
  return values_.back().get();
}

Value *Graph::addInput(const std::string &name, Shape shape) {
  Value *v = newValue(Value::Kind::Input, name, std::move(shape));
  inputs.push_back(v);
  return v;
}

Value *Graph::addWeight(const std::string &name, Shape shape,
                        std::shared_ptr<const std::vector<float>> data) {
  KILN_ASSERT(data && int64_t(data->size()) == kiln::numElements(shape),
              "weight " + name + " data does not match its shape");
  Value *v = newValue(Value::Kind::Weight, name, std::move(shape));
  v->data = std::move(data);
  weights.push_back(v);
  return v;
}

Op *Graph::addOp(const OpDef &def, std::vector<Value *> operands, AttrMap attrs,
                 Location loc, const std::string &resultName) {
  auto op = std::make_unique<Op>();
  op->def = &def;
  op->operands = std::move(operands);
  op->attrs = std::move(attrs);
  op->loc = std::move(loc);
  std::vector<Shape> shapes = def.inferShapes(*op);
  KILN_ASSERT(int(shapes.size()) == def.numResults,
              std::string(def.name) + " inferred a wrong number of results");
  for (size_t i = 0; i < shapes.size(); ++i) {
    for (int64_t d : shapes[i])
      if (d < 1)
        op->error("output shape " + shapeToString(shapes[i]) +
                  " has a dimension below 1");
    if (numElements(shapes[i]) > kMaxElements)
      op->error("output shape " + shapeToString(shapes[i]) + " has more than " +
                std::to_string(kMaxElements) + " elements");
    std::string n =
        shapes.size() == 1 ? resultName : resultName + "." + std::to_string(i);
    Value *r = newValue(Value::Kind::Result, n, std::move(shapes[i]));
    r->producer = op.get();
    r->resultIndex = int(i);
    if (i < def.resultTypes.size())
      r->elemType = def.resultTypes[i];
    else if (def.isView)
      r->elemType = op->operands[0]->elemType;
    op->results.push_back(r);
  }
  ops.push_back(std::move(op));
  return ops.back().get();
}

void Graph::replaceAllUsesWith(Value *from, Value *to) {
  for (auto &op : ops)
    for (Value *&o : op->operands)
      if (o == from)
        o = to;
  for (auto &out : outputs)
    if (out.second == from)
      out.second = to;
}

size_t Graph::indexOf(const Op *op) const {
  for (size_t i = 0; i < ops.size(); ++i)
    if (ops[i].get() == op)
      return i;
  KILN_ASSERT(false, "op not in graph");
  return 0;
}

void Graph::eraseOp(Op *op) {
  for (Value *r : op->results)
    KILN_ASSERT(users(r).empty() && !isOutput(r),
                "erasing an op whose result is used: " + r->name);
  ops.erase(ops.begin() + long(indexOf(op)));
}

void Graph::moveBefore(Op *op, Op *before) {
  size_t from = indexOf(op);
  std::unique_ptr<Op> owned = std::move(ops[from]);
  ops.erase(ops.begin() + long(from));
  ops.insert(ops.begin() + long(indexOf(before)), std::move(owned));
}

size_t Graph::removeUnusedWeights() {
  size_t before = weights.size();
  weights.erase(std::remove_if(
                    weights.begin(), weights.end(),
                    [&](Value *w) { return users(w).empty() && !isOutput(w); }),
                weights.end());
  return before - weights.size();
}

std::vector<Op *> Graph::users(const Value *v) const {
  std::vector<Op *> r;
  for (const auto &op : ops)
    for (Value *o : op->operands)
      if (o == v)
        r.push_back(op.get());
  return r;
}

bool Graph::isOutput(const Value *v) const {
  return std::any_of(outputs.begin(), outputs.end(),
                     [&](const auto &o) { return o.second == v; });
}

size_t Graph::removeDeadOps() {
  size_t removed = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = ops.size(); i-- > 0;) {
      Op *op = ops[i].get();
      bool used =
          std::any_of(op->results.begin(), op->results.end(), [&](Value *r) {
            return isOutput(r) || !users(r).empty();
          });
      if (!used) {
        ops.erase(ops.begin() + i);
        ++removed;
        changed = true;
      }
    }
  }
  return removed;
}

std::string Graph::uniqueName(const std::string &base) {
  std::string b = base.empty() ? "v" : base;
  std::string n = b;
  if (names_.count(n)) {
    // The smallest free suffix: names are never released, so it only grows
    // for a given base, and the search resumes where the last one ended
    // (20,000 ReLUs named "relu" probed 2 * 10^8 names from 1 each time).
    int &i = nextSuffix_[b];
    do
      n = b + "_" + std::to_string(++i);
    while (names_.count(n));
  }
  names_.insert(n);
  return n;
}

} // namespace kiln
