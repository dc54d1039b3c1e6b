// Test helpers for files: a temporary directory removed at the end of the
// test, and writing bytes to a file.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace kiln::testing {

/// A fresh directory under the system's temporary directory (empty path if
/// it could not be made), removed with its contents on destruction.
class TempDir {
public:
  explicit TempDir(const std::string &prefix = "kiln-test") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX"))
            .string();
    if (mkdtemp(tmpl.data()))
      path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::filesystem::path &path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// Writes `bytes` to `p` (created or truncated).
inline void writeFile(const std::filesystem::path &p,
                      const std::string &bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

} // namespace kiln::testing
