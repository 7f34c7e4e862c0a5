#include "swd/util/number.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace swd {
namespace util {

namespace {
/// The fewest significant digits (1 to 17) whose %g text reads back as `value` (finite).
int shortest_digits(double value) {
  char text[32];
  for (int digits = 1; digits < 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) return digits;
  }
  return 17;  // always enough for a double
}
}  // namespace

std::string shortest_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // A whole number below 1e15 is written out ("100", "20", not %g's "1e+02", "2e+01"): its
  // digits before the point are exact, and a message reads "10 epochs".
  int digits = shortest_digits(value);
  if (value == std::floor(value) && std::fabs(value) >= 1 && std::fabs(value) < 1e15) {
    const int integer_digits = static_cast<int>(std::floor(std::log10(std::fabs(value)))) + 1;
    if (integer_digits > digits) digits = integer_digits;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", digits, value);
  return text;
}

std::string compact_number(double value) {
  if (!std::isfinite(value)) return shortest_number(value);
  // The plain form: %g with at least its 6 digits, so that 100 stays "100" (not "1e+02").
  const int digits = shortest_digits(value);
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", digits < 6 ? 6 : digits, value);
  const std::string plain = text;
  std::snprintf(text, sizeof text, "%.*e", digits - 1, value);
  std::string e = text;  // 1e-03 -> 1e-3, 1e+20 -> 1e20
  const auto mark = e.find('e');
  std::string exponent = e.substr(mark + 1);
  const bool negative = exponent[0] == '-';
  exponent.erase(0, exponent.find_first_not_of("+-0"));
  e = e.substr(0, mark + 1) + (negative ? "-" : "") + (exponent.empty() ? "0" : exponent);
  return e.size() < plain.size() ? e : plain;
}

}  // namespace util
}  // namespace swd
