// The textual IR parser: a recursive-descent reader over the characters of
// the text. It is line-oriented like the printer: the graph header, each
// weight, each op and the return are one line each; blank lines and `//`
// comments are skipped. Every op is built with Graph::addOp (which runs the
// op's shape inference) after its operands and attributes are checked
// against the op definition, so that no op hook ever sees a malformed op.
#include "ir/parser.h"

#include "ir/op_def.h"
#include "ir/op_registry.h"
#include "ir/verifier.h"
#include "support/error.h"
#include "support/strings.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace kiln {
namespace {

bool isNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
         c == '$' || c == '-';
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

/// A name as written after `%` / `@` (quoted when it is not a plain name).
std::string nameText(const std::string &n) {
  bool plain = !n.empty() && std::all_of(n.begin(), n.end(), isNameChar);
  return plain ? n : attrToString(Attr(n));
}

/// A 1-based line and column (in bytes).
struct Pos {
  int line = 1;
  int col = 1;
};

/// `%name` or `@name` as written.
struct Ref {
  char sigil = '%';
  std::string name;
  Pos pos;
  std::string text() const { return sigil + nameText(name); }
};

/// `f32[1,2]` as written.
struct TensorType {
  ElemType elem = ElemType::F32;
  Shape shape;
  Pos pos;
  std::string text() const { return tensorTypeToString(shape, elem); }
};

/// A numeric literal.
struct Number {
  bool isFloat = false;
  int64_t i = 0;
  double f = 0;
  Pos pos;
  std::string text;
};

/// A declared graph output.
struct OutputDecl {
  std::string name;
  TensorType type;
};

class Parser {
public:
  Parser(const std::string &text, const std::string &file,
         const ParseOptions &opts)
      : t_(text), file_(file), opts_(opts), g_(std::make_unique<Graph>()) {}

  std::unique_ptr<Graph> parse();

private:
  // ---- characters and lines
  bool atEnd() const { return p_ >= t_.size(); }
  char peek(size_t k = 0) const {
    return p_ + k < t_.size() ? t_[p_ + k] : '\0';
  }
  bool atLineEnd() const { return atEnd() || peek() == '\n'; }
  Pos pos() const { return {line_, int(p_ - lineStart_) + 1}; }
  [[noreturn]] void fail(Pos at, const std::string &message) const {
    throw Error(file_,
                "line " + std::to_string(at.line) + ", column " +
                    std::to_string(at.col),
                message);
  }
  /// What is at the cursor, for "found ..." in messages.
  std::string found() const;
  /// Skips spaces, tabs, carriage returns and a `//` comment up to the end
  /// of the line (not the newline).
  void skipSpaces();
  /// Skips the rest of blank and comment-only lines.
  void skipBlankLines();
  /// Expects the end of the line (or of the text); `expected` completes
  /// "expected ..." when something else follows.
  void endLine(const std::string &expected);
  bool consumeIf(char c);
  void expect(char c, const std::string &context);
  /// The run of name characters at the cursor (not consumed).
  std::string peekWord() const;
  std::string word();

  // ---- tokens
  std::string parseString();
  bool scanNumber(Number &n);
  int64_t parseInt(const std::string &what);
  Ref parseRef(std::string_view sigils, const std::string &what);
  std::string parseBareName(const std::string &what);
  TensorType parseType(const std::string &what);
  Attr parseAttrValue();

  // ---- statements
  void parseHeader();
  void parseWeight();
  void parseOp();
  void parseReturn();

  // ---- values
  void checkNew(const Ref &r) const;
  void define(const Ref &r, Value *v) { defs_[r.name] = {v, r.pos}; }
  Value *lookup(const Ref &r) const;

  const std::string &t_;
  const std::string &file_;
  const ParseOptions &opts_;
  std::unique_ptr<Graph> g_;
  size_t p_ = 0;
  int line_ = 1;
  size_t lineStart_ = 0;
  Pos graphPos_;
  std::vector<OutputDecl> outputs_;
  struct Def {
    Value *value;
    Pos pos;
  };
  std::unordered_map<std::string, Def> defs_;
};

std::string Parser::found() const {
  if (atEnd())
    return "end of file";
  char c = peek();
  auto run = [&](size_t from) {
    size_t e = from;
    while (e < t_.size() && isNameChar(t_[e]) && e - p_ < 40)
      ++e;
    return t_.substr(p_, e - p_);
  };
  if (c == '\n')
    return "end of line";
  if (c == '"')
    return "a string";
  if (isNameChar(c))
    return "'" + run(p_) + "'";
  if (c == '%' || c == '@')
    return "'" + run(p_ + 1) + "'";
  auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "byte 0x%02X", u);
    return buf;
  }
  return std::string("'") + c + "'";
}

void Parser::skipSpaces() {
  while (!atEnd()) {
    char c = peek();
    if (c == ' ' || c == '\t' || c == '\r') {
      ++p_;
    } else if (c == '/' && peek(1) == '/') {
      while (!atEnd() && peek() != '\n')
        ++p_;
    } else {
      break;
    }
  }
}

void Parser::skipBlankLines() {
  for (;;) {
    skipSpaces();
    if (atEnd() || peek() != '\n')
      return;
    ++p_;
    ++line_;
    lineStart_ = p_;
  }
}

void Parser::endLine(const std::string &expected) {
  skipSpaces();
  if (!atLineEnd())
    fail(pos(), "expected " + expected + ", found " + found());
  skipBlankLines();
}

bool Parser::consumeIf(char c) {
  skipSpaces();
  if (atEnd() || peek() != c)
    return false;
  ++p_;
  return true;
}

void Parser::expect(char c, const std::string &context) {
  if (consumeIf(c))
    return;
  fail(pos(),
       std::string("expected '") + c + "' " + context + ", found " + found());
}

std::string Parser::peekWord() const {
  size_t e = p_;
  while (e < t_.size() && isNameChar(t_[e]))
    ++e;
  return t_.substr(p_, e - p_);
}

std::string Parser::word() {
  std::string w = peekWord();
  p_ += w.size();
  return w;
}

std::string Parser::parseString() {
  Pos start = pos();
  ++p_; // the opening quote
  std::string s;
  for (;;) {
    if (atLineEnd())
      fail(start, "unterminated string: no closing '\"' before the end of "
                  "the line");
    char c = t_[p_];
    if (c == '"') {
      ++p_;
      return s;
    }
    if (c == '\\') {
      Pos at = pos();
      char e = peek(1);
      if (p_ + 1 >= t_.size() || e == '\n')
        fail(start, "unterminated string: no closing '\"' before the end of "
                    "the line");
      if (e == '"' || e == '\\')
        s += e;
      else if (e == 'n')
        s += '\n';
      else if (e == 't')
        s += '\t';
      else
        fail(at, std::string("unknown escape '\\") + e +
                     "' in a string (known: \\\" \\\\ \\n \\t)");
      p_ += 2;
      continue;
    }
    s += c;
    ++p_;
  }
}

bool Parser::scanNumber(Number &n) {
  skipSpaces();
  n = Number();
  n.pos = pos();
  size_t e = p_;
  auto at = [&](size_t i) { return i < t_.size() ? t_[i] : '\0'; };
  auto wordAt = [&](size_t i, std::string_view w) {
    return t_.compare(i, w.size(), w) == 0 && !isNameChar(at(i + w.size()));
  };
  bool neg = at(e) == '-';
  if (neg)
    ++e;
  if (wordAt(e, "inf") || (!neg && wordAt(e, "nan"))) {
    n.isFloat = true;
    n.f = t_[e] == 'n' ? std::numeric_limits<double>::quiet_NaN()
          : neg        ? -std::numeric_limits<double>::infinity()
                       : std::numeric_limits<double>::infinity();
    e += 3;
    n.text = t_.substr(p_, e - p_);
    p_ = e;
    return true;
  }
  if (!isDigit(at(e)))
    return false;
  while (isDigit(at(e)))
    ++e;
  if (at(e) == '.') {
    n.isFloat = true;
    ++e;
    while (isDigit(at(e)))
      ++e;
  }
  if (at(e) == 'e' || at(e) == 'E') {
    size_t k = e + 1;
    if (at(k) == '+' || at(k) == '-')
      ++k;
    if (isDigit(at(k))) {
      n.isFloat = true;
      e = k;
      while (isDigit(at(e)))
        ++e;
    }
  }
  if (isNameChar(at(e))) {
    while (isNameChar(at(e)))
      ++e;
    fail(n.pos, "malformed number '" + t_.substr(p_, e - p_) + "'");
  }
  n.text = t_.substr(p_, e - p_);
  if (n.isFloat) {
    errno = 0;
    n.f = std::strtod(n.text.c_str(), nullptr);
    // ERANGE also flags denormals, which are fine; only overflow is not.
    if (errno == ERANGE && std::isinf(n.f))
      fail(n.pos, "float " + n.text + " is out of the double range");
  } else {
    uint64_t limit =
        neg ? uint64_t(1) << 63 : uint64_t(std::numeric_limits<int64_t>::max());
    uint64_t m = 0;
    for (char c : n.text.substr(neg ? 1 : 0)) {
      uint64_t d = uint64_t(c - '0');
      if (m > (limit - d) / 10)
        fail(n.pos, "integer " + n.text +
                        " is out of the int64 range [-9223372036854775808, "
                        "9223372036854775807]");
      m = m * 10 + d;
    }
    n.i = neg ? int64_t(0 - m) : int64_t(m);
  }
  p_ = e;
  return true;
}

int64_t Parser::parseInt(const std::string &what) {
  Number n;
  if (!scanNumber(n))
    fail(pos(), "expected " + what + ", found " + found());
  if (n.isFloat)
    fail(n.pos, "expected " + what + ", found float " + n.text);
  return n.i;
}

Ref Parser::parseRef(std::string_view sigils, const std::string &what) {
  skipSpaces();
  Ref r;
  r.pos = pos();
  char c = peek();
  if (atEnd() || sigils.find(c) == std::string_view::npos || c == '\0')
    fail(r.pos, "expected " + what + ", found " + found());
  r.sigil = c;
  ++p_;
  if (peek() == '"') {
    r.name = parseString();
    if (r.name.empty())
      fail(r.pos, std::string("expected a name after '") + c +
                      "', found an empty string");
  } else {
    r.name = word();
    if (r.name.empty())
      fail(pos(), std::string("expected a name after '") + c +
                      "' (letters, digits, '_', '.', '$', '-'), found " +
                      found());
  }
  return r;
}

std::string Parser::parseBareName(const std::string &what) {
  skipSpaces();
  if (peek() == '"' && !atEnd()) {
    Pos at = pos();
    std::string s = parseString();
    if (s.empty())
      fail(at, "expected " + what + ", found an empty string");
    return s;
  }
  std::string w = peekWord();
  if (w.empty())
    fail(pos(), "expected " + what + ", found " + found());
  p_ += w.size();
  return w;
}

TensorType Parser::parseType(const std::string &what) {
  skipSpaces();
  TensorType ty;
  ty.pos = pos();
  std::string w = peekWord();
  if (w == "f32")
    ty.elem = ElemType::F32;
  else if (w == "i32")
    ty.elem = ElemType::I32;
  else
    fail(ty.pos,
         "expected " + what + " (f32[...] or i32[...]), found " + found());
  p_ += w.size();
  expect('[', "after the element type " + w);
  if (!consumeIf(']')) {
    for (;;) {
      skipSpaces();
      Pos at = pos();
      int64_t d = parseInt("a dimension (an integer >= 1)");
      if (d < 1)
        fail(at, "dimensions must be >= 1, found " + std::to_string(d));
      ty.shape.push_back(d);
      if (consumeIf(','))
        continue;
      if (consumeIf(']'))
        break;
      fail(pos(), "expected ',' or ']' in the shape, found " + found());
    }
  }
  if (numElements(ty.shape) > kMaxElements)
    fail(ty.pos, "type " + ty.text() + " has more than " +
                     std::to_string(kMaxElements) + " elements");
  return ty;
}

Attr Parser::parseAttrValue() {
  skipSpaces();
  Pos at = pos();
  if (!atEnd() && peek() == '"')
    return parseString();
  if (consumeIf('[')) {
    std::vector<int64_t> v;
    if (consumeIf(']'))
      return v;
    for (;;) {
      Number n;
      if (!scanNumber(n))
        fail(pos(), "expected an integer in the list, found " + found());
      if (n.isFloat)
        fail(n.pos, "int lists hold integers only, found float " + n.text);
      v.push_back(n.i);
      if (consumeIf(','))
        continue;
      if (consumeIf(']'))
        return v;
      fail(pos(), "expected ',' or ']' in the int list, found " + found());
    }
  }
  Number n;
  if (scanNumber(n))
    return n.isFloat ? Attr(n.f) : Attr(n.i);
  std::string w = peekWord();
  if (w == "true" || w == "false") {
    p_ += w.size();
    return Attr(std::in_place_type<bool>, w == "true");
  }
  fail(at, "expected an attribute value (an integer, a float, true, false, a "
           "\"string\" or an int list [1, 2]), found " +
               found());
}

void Parser::checkNew(const Ref &r) const {
  auto it = defs_.find(r.name);
  if (it == defs_.end())
    return;
  const Value *v = it->second.value;
  fail(r.pos, "redefinition of " + r.text() + ": " +
                  (v->isWeight() ? "@" : "%") + nameText(r.name) +
                  " is already defined at line " +
                  std::to_string(it->second.pos.line) + ", column " +
                  std::to_string(it->second.pos.col) +
                  " (value names are unique across inputs, weights and "
                  "results)");
}

Value *Parser::lookup(const Ref &r) const {
  auto it = defs_.find(r.name);
  if (it == defs_.end()) {
    std::vector<std::string> known;
    for (const auto &[name, d] : defs_)
      known.push_back((d.value->isWeight() ? "@" : "%") + name);
    std::sort(known.begin(), known.end());
    fail(r.pos, "undefined value " + r.text() +
                    didYouMean(std::string(1, r.sigil) + r.name, known));
  }
  Value *v = it->second.value;
  if (v->isWeight() && r.sigil != '@')
    fail(r.pos, r.text() + " is a weight: write @" + nameText(r.name));
  if (!v->isWeight() && r.sigil != '%')
    fail(r.pos, r.text() + " is not a weight: write %" + nameText(r.name));
  return v;
}

void Parser::parseHeader() {
  skipBlankLines();
  graphPos_ = pos();
  if (peekWord() != "graph")
    fail(pos(), "expected 'graph' to start the graph, found " + found());
  p_ += 5;
  Ref name = parseRef("@", "the graph name (@name) after 'graph'");
  if (!isSafeIdentifier(name.name))
    fail(name.pos, "the graph name must be a C identifier that is not a C or "
                   "C++ keyword, found '" +
                       name.name + "'");
  g_->name = name.name;
  g_->file = file_;

  expect('(', "after the graph name");
  if (!consumeIf(')')) {
    for (;;) {
      Ref r = parseRef("%", "a graph input (%name: f32[...])");
      checkNew(r);
      expect(':', "after input " + r.text());
      TensorType ty = parseType("the type of input " + r.text());
      if (ty.elem != ElemType::F32)
        fail(ty.pos, "graph inputs must be f32, found " + ty.text());
      Value *v = g_->addInput(r.name, ty.shape);
      v->name = r.name;
      define(r, v);
      if (consumeIf(','))
        continue;
      if (consumeIf(')'))
        break;
      fail(pos(), "expected ',' or ')' after input " + r.text() + ", found " +
                      found());
    }
  }

  skipSpaces();
  if (t_.compare(p_, 2, "->") != 0)
    fail(pos(),
         "expected '->' and the outputs after the inputs, found " + found());
  p_ += 2;
  expect('(', "before the graph outputs");
  skipSpaces();
  Pos close = pos();
  if (consumeIf(')'))
    fail(close, "a graph needs at least one output, found '()'");
  for (;;) {
    skipSpaces();
    Pos at = pos();
    OutputDecl o;
    o.name = parseBareName("an output name (name: f32[...])");
    for (const OutputDecl &d : outputs_)
      if (d.name == o.name)
        fail(at, "output '" + o.name + "' is declared twice");
    expect(':', "after output '" + o.name + "'");
    o.type = parseType("the type of output '" + o.name + "'");
    outputs_.push_back(std::move(o));
    if (consumeIf(','))
      continue;
    if (consumeIf(')'))
      break;
    fail(pos(), "expected ',' or ')' after output '" + outputs_.back().name +
                    "', found " + found());
  }
  expect('{', "to open the graph body");
  endLine("end of line after '{'");
}

void Parser::parseWeight() {
  p_ += 6; // weight
  Ref r = parseRef("@", "a weight name (@name) after 'weight'");
  checkNew(r);
  expect(':', "after weight " + r.text());
  TensorType ty = parseType("the type of weight " + r.text());
  if (ty.elem != ElemType::F32)
    fail(ty.pos, "weights must be f32, found " + ty.text());
  int64_t n = numElements(ty.shape);
  std::shared_ptr<const std::vector<float>> data;
  // A one-element weight carries its value: `weight @s : f32[] = 0.5`.
  skipSpaces();
  if (consumeIf('=')) {
    skipSpaces();
    Pos at = pos();
    if (n != 1)
      fail(at, "only one-element weights carry a value, " + r.text() + " has " +
                   std::to_string(n) + " elements");
    Attr a = parseAttrValue();
    double v =
        attrKind(a) == AttrKind::Float ? std::get<double>(a)
        : attrKind(a) == AttrKind::Int
            ? double(std::get<int64_t>(a))
            : (fail(at, "expected a number for the value of " + r.text()), 0.0);
    data = std::make_shared<const std::vector<float>>(1, float(v));
  }
  endLine("end of line after the type of weight " + r.text());
  if (!data && opts_.weightData)
    data = opts_.weightData(r.name, ty.shape);
  if (data && int64_t(data->size()) != n)
    fail(r.pos, "the data given for weight " + r.text() + " has " +
                    std::to_string(data->size()) + " floats, expected " +
                    std::to_string(n) + " for " + ty.text());
  if (!data)
    data = std::make_shared<const std::vector<float>>(size_t(n), 0.0f);
  Value *v = g_->addWeight(r.name, ty.shape, std::move(data));
  v->name = r.name;
  define(r, v);
}

/// `(input, weight, bias?)` or `(inputs...)`.
std::string signature(const OpDef &def) {
  std::string s = "(";
  for (size_t i = 0; i < def.operands.size(); ++i) {
    const OperandSpec &o = def.operands[i];
    s += (i ? ", " : "") + std::string(o.name) + (o.optional ? "?" : "") +
         (o.variadic ? "..." : "");
  }
  return s + ")";
}

/// `eps (float), activation (string, optional)` or `none`.
std::string attrList(const OpDef &def) {
  std::string s;
  for (size_t i = 0; i < def.attrs.size(); ++i)
    s += (i ? ", " : "") + std::string(def.attrs[i].name) + " (" +
         attrKindName(def.attrs[i].kind) +
         (def.attrs[i].optional ? ", optional)" : ")");
  return s.empty() ? "none" : s;
}

void Parser::parseOp() {
  // Results.
  std::vector<Ref> results;
  for (;;) {
    Ref r = parseRef("%", "a result name (%name)");
    checkNew(r);
    for (const Ref &o : results)
      if (o.name == r.name)
        fail(r.pos, "redefinition of " + r.text() +
                        ": it is already a "
                        "result of this op");
    results.push_back(std::move(r));
    if (!consumeIf(','))
      break;
  }
  expect('=', "after the result names");

  // Op name.
  skipSpaces();
  Pos opPos = pos();
  std::string opName = word();
  if (opName.empty())
    fail(opPos, "expected an op name after '=', found " + found());
  const OpDef *def = findOp(opName);
  if (!def) {
    std::vector<std::string> names;
    for (const OpDef *d : allOps())
      names.push_back(d->name);
    std::string hint = didYouMean(opName, names);
    if (hint.empty()) {
      hint = " (known ops:";
      for (size_t i = 0; i < names.size(); ++i)
        hint += (i ? ", " : " ") + names[i];
      hint += ")";
    }
    fail(opPos, "unknown op '" + opName + "'" + hint);
  }
  if (int(results.size()) != def->numResults)
    fail(results[0].pos, opName + " has " + std::to_string(def->numResults) +
                             " result" + (def->numResults == 1 ? "" : "s") +
                             ", found " + std::to_string(results.size()) +
                             " result name" + (results.size() == 1 ? "" : "s"));

  // Operands.
  expect('(', "after the op name " + opName);
  std::vector<Value *> operands;
  std::vector<Ref> operandRefs;
  skipSpaces();
  Pos close = pos();
  if (!consumeIf(')')) {
    for (;;) {
      Ref r = parseRef("%@", "an operand (%name or @name)");
      operands.push_back(lookup(r));
      operandRefs.push_back(r);
      if (consumeIf(','))
        continue;
      skipSpaces();
      close = pos();
      if (consumeIf(')'))
        break;
      fail(pos(), "expected ',' or ')' after operand " + r.text() + ", found " +
                      found());
    }
  }
  const auto &slots = def->operands;
  bool variadic = !slots.empty() && slots.back().variadic;
  size_t required =
      size_t(std::count_if(slots.begin(), slots.end(),
                           [](const OperandSpec &o) { return !o.optional; }));
  if (!variadic && operands.size() > slots.size())
    fail(operandRefs[slots.size()].pos,
         opName + " takes at most " + std::to_string(slots.size()) +
             " operands " + signature(*def) + ", found " +
             std::to_string(operands.size()));
  if (operands.size() < required)
    fail(close, opName + " needs operand '" +
                    slots[std::min(operands.size(), slots.size() - 1)].name +
                    "': expected at least " + std::to_string(required) +
                    " operands " + signature(*def) + ", found " +
                    std::to_string(operands.size()));
  for (size_t i = 0; i < operands.size() && !def->isView; ++i) {
    const OperandSpec &s = slots[std::min(i, slots.size() - 1)];
    if (operands[i]->elemType != s.type)
      fail(operandRefs[i].pos,
           "operand " + std::to_string(i) + " (" + s.name + ") of " + opName +
               " must be " + elemTypeName(s.type) + ", found " +
               operandRefs[i].text() + " of type " +
               tensorTypeToString(operands[i]->shape, operands[i]->elemType));
  }

  // Attributes.
  AttrMap attrs;
  if (consumeIf('{') && !consumeIf('}')) {
    for (;;) {
      skipSpaces();
      Pos at = pos();
      std::string name = word();
      if (name.empty())
        fail(at, "expected an attribute name, found " + found());
      auto spec =
          std::find_if(def->attrs.begin(), def->attrs.end(),
                       [&](const AttrSpec &a) { return name == a.name; });
      if (spec == def->attrs.end()) {
        std::vector<std::string> names;
        for (const AttrSpec &a : def->attrs)
          names.push_back(a.name);
        fail(at, opName + " has no attribute '" + name + "'" +
                     didYouMean(name, names) +
                     "; its attributes: " + attrList(*def));
      }
      if (attrs.count(name))
        fail(at, "attribute '" + name + "' is given twice");
      expect('=', "after attribute '" + name + "'");
      skipSpaces();
      Pos vp = pos();
      Attr v = parseAttrValue();
      if (attrKind(v) != spec->kind)
        fail(vp, "attribute '" + name + "' of " + opName + " must be " +
                     attrKindName(spec->kind) + ", found " +
                     attrKindName(attrKind(v)) + " " + attrToString(v));
      attrs.emplace(name, std::move(v));
      if (consumeIf(','))
        continue;
      if (consumeIf('}'))
        break;
      fail(pos(), "expected ',' or '}' after attribute '" + name + "', found " +
                      found());
    }
  }
  std::string missing;
  for (const AttrSpec &a : def->attrs)
    if (!a.optional && !attrs.count(a.name))
      missing += (missing.empty() ? "'" : ", '") + std::string(a.name) + "' (" +
                 attrKindName(a.kind) + ")";
  if (!missing.empty())
    fail(opPos, opName + ": missing attribute " + missing +
                    "; its attributes: " + attrList(*def));

  // Result types.
  expect(':', "before the result types");
  std::vector<TensorType> types;
  for (;;) {
    types.push_back(parseType("a result type"));
    if (!consumeIf(','))
      break;
  }
  if (types.size() > results.size())
    fail(types[results.size()].pos,
         opName + " has " + std::to_string(results.size()) +
             " result(s), found " + std::to_string(types.size()) + " types");
  if (types.size() < results.size()) {
    skipSpaces();
    fail(pos(), "expected " + std::to_string(results.size()) +
                    " result types for " + opName + ", found " +
                    std::to_string(types.size()));
  }

  // Location.
  Location loc{file_, "line " + std::to_string(opPos.line)};
  skipSpaces();
  if (peekWord() == "loc") {
    p_ += 3;
    expect('(', "after 'loc'");
    skipSpaces();
    if (atEnd() || peek() != '"')
      fail(pos(), "expected a quoted location in loc(...), found " + found());
    loc.path = parseString();
    expect(')', "after the location");
  }
  endLine("loc(\"...\") or end of line after the result types");

  // The op: shape inference runs in addOp. Results come out named after
  // `base` (`base.0`, `base.1` for several); they are renamed as written.
  std::string base = results[0].name;
  if (results.size() > 1) {
    size_t dot = base.rfind('.');
    std::string b = dot == std::string::npos ? base : base.substr(0, dot);
    bool numbered = true;
    for (size_t i = 0; i < results.size(); ++i)
      numbered = numbered && results[i].name == b + "." + std::to_string(i);
    if (numbered)
      base = b;
  }
  Op *op;
  try {
    op = g_->addOp(*def, std::move(operands), std::move(attrs), loc, base);
  } catch (const Error &e) {
    fail(opPos, e.message());
  }
  for (size_t i = 0; i < results.size(); ++i) {
    Value *v = op->results[i];
    if (v->elemType != types[i].elem || v->shape != types[i].shape)
      fail(types[i].pos, "result " + results[i].text() + " of " + opName +
                             " is declared " + types[i].text() +
                             " but shape inference gives " +
                             tensorTypeToString(v->shape, v->elemType));
  }
  for (size_t i = 0; i < results.size(); ++i) {
    Value *v = op->results[i];
    if (v->name != results[i].name) {
      // Reserve the written name so that later passes do not reuse it.
      g_->uniqueName(results[i].name);
      v->name = results[i].name;
    }
    define(results[i], v);
  }
}

void Parser::parseReturn() {
  p_ += 6; // return
  std::vector<std::pair<std::string, Value *>> outs;
  skipSpaces();
  if (!atLineEnd()) {
    for (;;) {
      skipSpaces();
      Pos at = pos();
      std::string name = parseBareName("an output name (name = %value)");
      size_t i = outs.size();
      if (i >= outputs_.size())
        fail(at, "output '" + name +
                     "' is not declared in the graph "
                     "signature, which has " +
                     std::to_string(outputs_.size()) + " output(s)");
      const OutputDecl &d = outputs_[i];
      if (name != d.name)
        fail(at, "expected output '" + d.name +
                     "' (outputs are returned in the order of the signature), "
                     "found '" +
                     name + "'");
      expect('=', "after output '" + name + "'");
      Ref r = parseRef("%@", "the value of output '" + name + "' (%name)");
      Value *v = lookup(r);
      if (v->elemType != d.type.elem || v->shape != d.type.shape)
        fail(r.pos, "output '" + name + "' is declared " + d.type.text() +
                        " in the graph signature but " + r.text() + " is " +
                        tensorTypeToString(v->shape, v->elemType));
      outs.emplace_back(name, v);
      if (consumeIf(','))
        continue;
      skipSpaces();
      if (!atLineEnd())
        fail(pos(), "expected ',' or end of line after output '" + name +
                        "', found " + found());
      break;
    }
  }
  if (outs.size() < outputs_.size())
    fail(pos(), "return is missing output '" + outputs_[outs.size()].name +
                    "' declared in the graph signature");
  g_->outputs = std::move(outs);
  endLine("end of line after the return");
}

std::unique_ptr<Graph> Parser::parse() {
  parseHeader();
  bool seenOp = false;
  for (;;) {
    skipSpaces();
    Pos at = pos();
    if (atEnd())
      fail(at, "expected 'return' and '}' to close graph @" + g_->name +
                   " (line " + std::to_string(graphPos_.line) +
                   "), found end of file");
    if (peek() == '%') {
      parseOp();
      seenOp = true;
      continue;
    }
    if (peek() == '}')
      fail(at, "expected 'return' before '}': graph @" + g_->name +
                   " returns nothing");
    std::string w = peekWord();
    if (w == "weight") {
      if (seenOp)
        fail(at, "weight lines must come before the first op");
      parseWeight();
      continue;
    }
    if (w == "return") {
      parseReturn();
      break;
    }
    fail(at, "expected an op (%name = op(...) : type), 'weight' or 'return', "
             "found " +
                 found());
  }
  skipSpaces();
  if (atEnd() || peek() != '}')
    fail(pos(), "expected '}' to close graph @" + g_->name + " (line " +
                    std::to_string(graphPos_.line) + "), found " + found());
  ++p_;
  endLine("end of line after '}'");
  if (!atEnd())
    fail(pos(),
         "expected the end of the file after the graph, found " + found());
  verifyGraph(*g_);
  return std::move(g_);
}

} // namespace

std::unique_ptr<Graph> parseGraph(const std::string &text,
                                  const std::string &file,
                                  const ParseOptions &opts) {
  return Parser(text, file, opts).parse();
}

} // namespace kiln
