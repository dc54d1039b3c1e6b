// Running an external program (the C++ compiler for `kiln build`).
#pragma once

#include <string>
#include <vector>

namespace kiln {

/// Runs `argv` in directory `cwd` without a shell; returns its exit status
/// (or -1 if it could not start) and puts its combined stdout and stderr
/// into `output`.
int runProgram(const std::vector<std::string> &argv, const std::string &cwd,
               std::string &output);

} // namespace kiln
