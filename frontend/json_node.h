// A JSON value together with its file and JSON path, with typed accessors
// that report what was expected and what was found.
#pragma once

#include "frontend/json_file.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// A view of one JSON value in a model file.
class JsonNode {
public:
  JsonNode(const Json &j, std::string path, const std::string &file)
      : j_(&j), path_(std::move(path)), file_(&file) {}

  const Json &json() const { return *j_; }
  const std::string &path() const { return path_; }
  const std::string &file() const { return *file_; }

  /// Throws a user error at this node.
  [[noreturn]] void error(const std::string &message) const;
  /// `an integer`, `the string "abc"`, ... for "found ..." messages.
  std::string describe() const;

  bool isObject() const { return j_->is_object(); }
  bool isArray() const { return j_->is_array(); }
  bool isString() const { return j_->is_string(); }
  bool isNull() const { return j_->is_null(); }
  bool has(const std::string &key) const;
  /// The member `key`; an error if this is not an object or lacks it.
  JsonNode at(const std::string &key) const;
  /// Element `i` of an array.
  JsonNode operator[](size_t i) const;
  size_t size() const { return j_->size(); }
  /// Member names of an object, in file order.
  std::vector<std::string> keys() const;

  /// Refuses keys outside `allowed`, naming the nearest valid one.
  void checkKeys(const std::vector<std::string> &allowed) const;

  void expectObject() const;
  void expectArray() const;
  int64_t asInt() const;
  double asNumber() const;
  bool asBool() const;
  std::string asString() const;
  /// A non-empty name: no `.`, not starting with `$`.
  std::string asName() const;
  /// An integer, or a list of `n` integers (PyTorch's int-or-tuple).
  std::vector<int64_t> asInts(size_t n) const;
  /// A list of integers of any length.
  std::vector<int64_t> asIntList() const;
  std::vector<std::string> asStringList() const;

private:
  const Json *j_;
  std::string path_;
  const std::string *file_;
};

} // namespace kiln
