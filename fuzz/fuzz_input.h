#pragma once
// Fuzz inputs reach the readers as files, as real data does.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace swd_fuzz {

/// Writes `size` bytes to a per-process file named `name` and returns its path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = "/tmp/swd-fuzz-" + std::to_string(::getpid()) + "-" + name;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

}  // namespace swd_fuzz
