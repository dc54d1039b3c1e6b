// A set of generated files held in memory until they are all ready, then
// written at once (so that a failure never leaves a partial output).
#pragma once

#include <string>
#include <vector>

namespace kiln {

/// One generated file: path relative to the output directory, contents.
struct GeneratedFile {
  std::string path;
  std::string contents;
};

/// Files a backend produces.
using GeneratedFiles = std::vector<GeneratedFile>;

/// Writes `files` under `dir` (created if needed): each file goes to a
/// temporary name first and is renamed into place once all are written.
/// Throws kiln::Error naming the path on failure.
void writeFiles(const std::string &dir, const GeneratedFiles &files);

} // namespace kiln
