#include "cli_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace swd_test {

namespace fs = std::filesystem;

CommandResult run_swd(const std::string& arguments) {
  const std::string command = std::string(SWD_BINARY) + " " + arguments + " 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

int spawn_swd(const std::string& arguments, const std::string& log_path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string command = "exec " + std::string(SWD_BINARY) + " " + arguments + " >" +
                                log_path + " 2>&1";
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int wait_for(int pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

namespace {
struct Cleanup {
  std::vector<fs::path> paths;
  ~Cleanup() {
    std::error_code ignored;
    for (const auto& p : paths) fs::remove_all(p, ignored);
  }
};
Cleanup& cleanup() {
  static Cleanup c;
  return c;
}
}  // namespace

std::string fresh_dir(const std::string& name) {
  const auto path = fs::temp_directory_path() / ("swd-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(path);
  fs::create_directories(path);
  cleanup().paths.push_back(path);
  return path.string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace swd_test
