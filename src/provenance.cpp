#include "swd/provenance.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/version.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "swd/build_info.h"  // generated: SWD_VERSION, SWD_GIT_COMMIT

namespace swd {

namespace {

std::vector<std::string> command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string arg;
  for (char c : all) {
    if (c == '\0') {
      args.push_back(arg);
      arg.clear();
    } else {
      arg += c;
    }
  }
  return args;
}

/// BLAS_INFO from LibTorch's build configuration ("" when it does not say).
std::string blas() {
  const std::string config = at::show_config();
  const auto at = config.find("BLAS_INFO=");
  if (at == std::string::npos) return "";
  const auto start = at + 10;
  return config.substr(start, config.find_first_of(", \n", start) - start);
}

#if defined(__clang__)
constexpr const char* kCompiler = "clang " __clang_version__;
#elif defined(__GNUC__)
constexpr const char* kCompiler = "GCC " __VERSION__;
#else
constexpr const char* kCompiler = "unknown compiler";
#endif

}  // namespace

std::string version() { return SWD_VERSION; }
std::string git_commit() { return SWD_GIT_COMMIT; }

std::string version_line() {
  std::string line = "swd " + version() + " (";
  if (!git_commit().empty()) line += "commit " + git_commit() + ", ";
  return line + "LibTorch " + TORCH_VERSION + ", " + kCompiler + ")";
}

std::string provenance_json(const std::string& data_dir) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  nlohmann::json record = {
      {"swd_version", version()},     {"git_commit", git_commit()},
      {"libtorch", TORCH_VERSION},    {"compiler", kCompiler},
      {"blas", blas()},               {"threads", at::get_num_threads()},
      {"host", host},                 {"start_time", stamp},
      {"command", command_line()},
  };
  std::error_code cwd_error;
  const auto cwd = std::filesystem::current_path(cwd_error);
  if (!cwd_error) record["working_dir"] = cwd.string();
  if (!data_dir.empty()) {
    std::error_code error;
    const auto absolute = std::filesystem::absolute(data_dir, error);
    record["data_dir"] = error ? data_dir : absolute.lexically_normal().string();
  }
  return record.dump();
}

std::string append_provenance(const std::string& existing, const std::string& record) {
  auto list = nlohmann::json::parse(existing, nullptr, false);
  if (list.is_discarded() || !list.is_array()) list = nlohmann::json::array();
  list.push_back(nlohmann::json::parse(record));
  return list.dump();
}

}  // namespace swd
