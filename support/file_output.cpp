// Writing generated files all-or-nothing.
#include "support/file_output.h"

#include "support/error.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace kiln {

void writeFiles(const std::string &dir, const GeneratedFiles &files) {
  std::vector<std::pair<fs::path, fs::path>> staged;
  auto cleanup = [&] {
    std::error_code ec;
    for (auto &s : staged)
      fs::remove(s.first, ec);
  };
  try {
    for (const GeneratedFile &f : files) {
      fs::path target = fs::path(dir) / f.path;
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      if (ec)
        throw Error(target.parent_path().string(), "",
                    "cannot create the directory: " + ec.message());
      if (fs::is_directory(target, ec))
        throw Error(target.string(), "",
                    "cannot write the file: a directory has that name");
      fs::path tmp = target;
      tmp += ".kiln-tmp";
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out)
        throw Error(tmp.string(), "", "cannot open the file for writing");
      staged.push_back({tmp, target});
      out.write(f.contents.data(), std::streamsize(f.contents.size()));
      out.close();
      if (!out)
        throw Error(tmp.string(), "", "cannot write the file");
    }
  } catch (...) {
    cleanup();
    throw;
  }
  for (auto &[tmp, target] : staged) {
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) {
      cleanup();
      throw Error(target.string(), "",
                  "cannot write the file: " + ec.message());
    }
  }
}

} // namespace kiln
