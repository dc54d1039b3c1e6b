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

/// A program started by startProgram(), running beside the caller.
class Program {
public:
  Program() = default;
  Program(Program &&other) noexcept;
  Program &operator=(Program &&) = delete;
  Program(const Program &) = delete;
  /// Waits for the program if wait() was not called (its output dropped).
  ~Program();
  /// Waits for the program to end; returns its exit status (-1 if it could
  /// not start or was killed) and puts its combined stdout and stderr into
  /// `output`.
  int wait(std::string &output);

private:
  friend Program startProgram(const std::vector<std::string> &,
                              const std::string &, const std::string &);
  int pid_ = -1;
  std::string log_, error_;
};

/// Starts `argv` in directory `cwd` without a shell and returns at once;
/// its stdout and stderr go to the file `logPath` (not a pipe, so a program
/// that writes much never blocks on the caller), read back by wait().
Program startProgram(const std::vector<std::string> &argv,
                     const std::string &cwd, const std::string &logPath);

} // namespace kiln
