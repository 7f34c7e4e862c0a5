#pragma once
// Construction-time checks shared by the optimizer families.

#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "swd/util/number.h"

namespace swd {
namespace optim {
namespace detail {

/// Throws std::invalid_argument: "<optimizer>: invalid <name> <value> in <where> (expected
/// <expected>)" unless `ok`.
template <typename T>
void require(bool ok, const char* optimizer, const char* name, const T& value,
             const char* expected, const std::string& where) {
  if (ok) return;
  std::ostringstream message;
  message << optimizer << ": invalid " << name << " ";
  if constexpr (std::is_floating_point_v<T>) {
    message << util::shortest_number(static_cast<double>(value));  // exactly the value given
  } else {
    message << value;
  }
  message << " in " << where << " (expected " << expected << ")";
  throw std::invalid_argument(message.str());
}

/// lr >= 0, weight_decay >= 0 (NaN fails both).
template <typename Options>
void require_common(const Options& o, const char* optimizer, const std::string& where) {
  require(o.lr() >= 0, optimizer, "lr", o.lr(), "lr >= 0", where);
  require(o.weight_decay() >= 0, optimizer, "weight_decay", o.weight_decay(),
          "weight_decay >= 0", where);
}

/// Both betas in [0, 1).
template <typename Options>
void require_betas(const Options& o, const char* optimizer, const std::string& where) {
  const double b0 = std::get<0>(o.betas());
  const double b1 = std::get<1>(o.betas());
  require(b0 >= 0 && b0 < 1, optimizer, "betas[0]", b0, "0 <= betas[0] < 1", where);
  require(b1 >= 0 && b1 < 1, optimizer, "betas[1]", b1, "0 <= betas[1] < 1", where);
}

}  // namespace detail
}  // namespace optim
}  // namespace swd
