// A small emitter for C++ source: owns indentation, includes and comment
// escaping, so that backends write structure rather than concatenate text.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace kiln {

/// Builds one C++ source file.
class CppEmitter {
public:
  /// Adds `#include <header>` (system) or `#include "header"` (local),
  /// emitted once each, in the order first requested.
  void includeSystem(const std::string &header);
  void includeLocal(const std::string &header);

  /// Appends one line at the current indentation (empty: a blank line).
  void line(const std::string &text = "");
  /// A `// ...` comment; newlines and `*/` in `text` are neutralised.
  void comment(const std::string &text);
  /// Starts the file with `#pragma once` (headers).
  void pragmaOnce() { pragmaOnce_ = true; }
  /// `namespace name {` without indenting its contents (LLVM style).
  void openNamespace(const std::string &name);
  /// `} // namespace name`.
  void closeNamespace(const std::string &name);
  /// `head {` then indents.
  void open(const std::string &head);
  /// Dedents then `}` + `tail`.
  void close(const std::string &tail = "");
  /// Verbatim text (no indentation), e.g. a large initialiser.
  void raw(const std::string &text);

  /// The file: banner, includes, then the body.
  std::string str(const std::string &banner) const;

  /// `text` as a C++ string literal with escapes.
  static std::string stringLiteral(const std::string &text);
  /// A float literal that reads back to exactly `v` (`0x1.8p+1f`).
  static std::string floatLiteral(float v);

private:
  std::vector<std::string> includes_;
  std::set<std::string> seen_;
  std::string body_;
  int indent_ = 0;
  bool pragmaOnce_ = false;
};

} // namespace kiln
