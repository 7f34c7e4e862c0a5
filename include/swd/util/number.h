#pragma once
// Numbers as text: the one rule for writing a double so that it reads back exactly. Every file
// swd writes (metrics.csv, reports, sweeps) and every message naming a value uses it.

#include <string>

namespace swd {
namespace util {

/// The shortest text that reads back as exactly `value`, in printf's %g form: the fewest
/// significant digits (1 to 17) whose %g text strtod turns back into `value` ("0.1", "1e-05",
/// "0.0005", "123456789"), with a whole number below 1e15 written out ("100", not "1e+02");
/// "nan", "inf", "-inf".
std::string shortest_number(double value);

/// The same value, exactly, in the shorter of the plain form (%g, "100", "0.001") and the
/// exponent form without padding or '+' ("1e-3", "5e-4", "1e20"); the plain one where they
/// are as long: how help shows a default.
std::string compact_number(double value);

}  // namespace util
}  // namespace swd
