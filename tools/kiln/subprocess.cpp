// Running an external program without a shell.
#include "tools/kiln/subprocess.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace kiln {

namespace {

/// argv as execvp takes it (built before fork: the child only calls
/// async-signal-safe functions).
std::vector<char *> execArgs(const std::vector<std::string> &argv) {
  std::vector<char *> args;
  for (const auto &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

/// In the forked child: stdout and stderr to `out`, into `cwd`, then the
/// program (exit 126: no such directory, 127: cannot execute).
[[noreturn]] void execChild(const std::vector<char *> &args,
                            const std::string &cwd, int out) {
  dup2(out, 1);
  dup2(out, 2);
  if (out > 2)
    close(out);
  if (!cwd.empty() && chdir(cwd.c_str()) != 0)
    _exit(126);
  execvp(args[0], args.data());
  const char *msg = "cannot execute the program\n";
  (void)!write(2, msg, std::strlen(msg));
  _exit(127);
}

} // namespace

int runProgram(const std::vector<std::string> &argv, const std::string &cwd,
               std::string &output) {
  output.clear();
  const std::vector<char *> args = execArgs(argv);
  int fds[2];
  if (pipe(fds) != 0) {
    output = std::strerror(errno);
    return -1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    output = std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    close(fds[0]);
    execChild(args, cwd, fds[1]);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      output.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  pid_t done;
  while ((done = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (done < 0)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Program startProgram(const std::vector<std::string> &argv,
                     const std::string &cwd, const std::string &logPath) {
  Program p;
  p.log_ = logPath;
  const std::vector<char *> args = execArgs(argv);
  int fd =
      open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    p.error_ = logPath + ": " + std::strerror(errno);
    return p;
  }
  pid_t pid = fork();
  if (pid < 0) {
    p.error_ = std::strerror(errno);
    close(fd);
    return p;
  }
  if (pid == 0)
    execChild(args, cwd, fd);
  close(fd);
  p.pid_ = int(pid);
  return p;
}

Program::Program(Program &&other) noexcept
    : pid_(other.pid_), log_(std::move(other.log_)),
      error_(std::move(other.error_)) {
  other.pid_ = -1;
}

Program::~Program() {
  // Only reaps the child (an error path: its output is not wanted).
  if (pid_ >= 0)
    while (waitpid(pid_t(pid_), nullptr, 0) < 0 && errno == EINTR) {
    }
}

int Program::wait(std::string &output) {
  if (pid_ < 0) {
    output = error_;
    return -1;
  }
  int status = 0;
  pid_t done;
  while ((done = waitpid(pid_t(pid_), &status, 0)) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  std::ifstream in(log_, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  output = text.str();
  error_ = "the program was already waited for";
  if (done < 0)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace kiln
