// Reading JSON files strictly: syntax errors with line and column, duplicate
// keys refused, nesting depth limited (model format limits).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace kiln {

/// JSON with object keys kept in file order.
using Json = nlohmann::ordered_json;

/// Maximum nesting depth of a model file.
inline constexpr int kMaxJsonDepth = 256;

/// Reads and parses `path`; throws kiln::Error naming the file and the line
/// and column of a syntax error, or the JSON path of a duplicate key.
Json readJsonFile(const std::string &path);

/// Parses `text` (reported as `file`), as readJsonFile does.
Json parseJsonText(const std::string &text, const std::string &file);

} // namespace kiln
