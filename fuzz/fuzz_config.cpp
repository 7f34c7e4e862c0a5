// Config files (TOML and JSON; the first byte picks the format) and config.json as read on
// resume. Malformed input must end in a ConfigError.
#include <cstdint>
#include <string>

#include "fuzz_input.h"
#include "swd/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool json = data[0] & 1;
  const auto path = swd_fuzz::write_input(json ? "config.json" : "config.toml", data + 1, size - 1);
  try {
    swd::train::read_config_file(path);
  } catch (const swd::train::ConfigError&) {
  }
  try {
    swd::train::config_from_json(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  } catch (const swd::train::ConfigError&) {
  }
  return 0;
}
