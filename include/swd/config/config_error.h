#pragma once
// The error of a bad configuration key or value (swd/errors.h: a bad value from the caller is a
// std::invalid_argument). Its own header, so that code that checks a setting (device.cpp) need
// not include the whole configuration table.

#include <stdexcept>

namespace swd {
namespace config {

/// A bad key or value: the message names it and says what was expected.
class ConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace config

// The training loop works in the configuration's words: train::TrainConfig, train::ConfigError
// and the rest name the same entities as config::.
namespace train {
using namespace config;
}  // namespace train
}  // namespace swd
