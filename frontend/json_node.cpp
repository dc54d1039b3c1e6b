// Typed, located access to JSON values.
#include "frontend/json_node.h"

#include "support/error.h"
#include "support/strings.h"

#include <cmath>

namespace kiln {

void JsonNode::error(const std::string &message) const {
  throw Error(*file_, path_.empty() ? "(top level)" : path_, message);
}

std::string JsonNode::describe() const {
  const Json &j = *j_;
  if (j.is_null())
    return "null";
  if (j.is_boolean())
    return std::string("the boolean ") + (j.get<bool>() ? "true" : "false");
  if (j.is_number_integer())
    return "the integer " + j.dump();
  if (j.is_number())
    return "the number " + j.dump();
  if (j.is_string()) {
    std::string s = j.dump();
    return "the string " + (s.size() > 40 ? s.substr(0, 37) + "...\"" : s);
  }
  if (j.is_array())
    return "a list of " + std::to_string(j.size()) + " entries";
  return "an object";
}

bool JsonNode::has(const std::string &key) const {
  return j_->is_object() && j_->contains(key);
}

JsonNode JsonNode::at(const std::string &key) const {
  expectObject();
  std::string p = path_.empty() ? key : path_ + "." + key;
  auto it = j_->find(key);
  if (it == j_->end())
    throw Error(*file_, p, "missing required key \"" + key + "\"");
  return JsonNode(*it, p, *file_);
}

JsonNode JsonNode::operator[](size_t i) const {
  return JsonNode((*j_)[i], path_ + "[" + std::to_string(i) + "]", *file_);
}

std::vector<std::string> JsonNode::keys() const {
  std::vector<std::string> k;
  for (auto it = j_->begin(); it != j_->end(); ++it)
    k.push_back(it.key());
  return k;
}

void JsonNode::checkKeys(const std::vector<std::string> &allowed) const {
  expectObject();
  for (const std::string &k : keys()) {
    bool ok = false;
    for (const auto &a : allowed)
      ok |= a == k;
    if (!ok)
      throw Error(*file_, path_.empty() ? k : path_ + "." + k,
                  "unknown key \"" + k + "\"" + didYouMean(k, allowed));
  }
}

void JsonNode::expectObject() const {
  if (!j_->is_object())
    error("expected an object, found " + describe());
}

void JsonNode::expectArray() const {
  if (!j_->is_array())
    error("expected a list, found " + describe());
}

int64_t JsonNode::asInt() const {
  if (j_->is_number_integer())
    return j_->get<int64_t>();
  if (j_->is_number_float()) {
    double d = j_->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15)
      return int64_t(d);
  }
  error("expected an integer, found " + describe());
}

double JsonNode::asNumber() const {
  if (!j_->is_number())
    error("expected a number, found " + describe());
  return j_->get<double>();
}

bool JsonNode::asBool() const {
  if (!j_->is_boolean())
    error("expected true or false, found " + describe());
  return j_->get<bool>();
}

std::string JsonNode::asString() const {
  if (!j_->is_string())
    error("expected a string, found " + describe());
  return j_->get<std::string>();
}

std::string JsonNode::asName() const {
  std::string s = asString();
  if (s.empty() || s.find('.') != std::string::npos || s[0] == '$')
    error("expected a name (non-empty, no '.', not starting with '$'), found " +
          describe());
  return s;
}

std::vector<int64_t> JsonNode::asInts(size_t n) const {
  if (j_->is_number())
    return std::vector<int64_t>(n, asInt());
  if (!j_->is_array() || j_->size() != n)
    error("expected an integer or a list of " + std::to_string(n) +
          " integers, found " + describe());
  std::vector<int64_t> v;
  for (size_t i = 0; i < n; ++i)
    v.push_back((*this)[i].asInt());
  return v;
}

std::vector<int64_t> JsonNode::asIntList() const {
  expectArray();
  std::vector<int64_t> v;
  for (size_t i = 0; i < size(); ++i)
    v.push_back((*this)[i].asInt());
  return v;
}

std::vector<std::string> JsonNode::asStringList() const {
  expectArray();
  std::vector<std::string> v;
  for (size_t i = 0; i < size(); ++i)
    v.push_back((*this)[i].asString());
  return v;
}

} // namespace kiln
