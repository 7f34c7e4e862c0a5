#pragma once
// The small CSV dialect of runs.csv and summary.csv: comma-separated, a field holding a comma,
// a quote or a newline is quoted with doubled quotes inside (RFC 4180).

#include <string>
#include <vector>

#include "swd/util/number.h"  // shortest_number, the form of the numbers in every cell

namespace swd {
namespace util {

/// `text` as one CSV field, quoted only when it has to be.
std::string csv_field(const std::string& text);

/// The fields joined into one line (no newline).
std::string csv_line(const std::vector<std::string>& fields);

/// A whole CSV text: a header and rows, each row a vector of cells.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  /// The column named `name`, or -1.
  int column(const std::string& name) const;
};

/// Parses `text`. Throws std::runtime_error naming `what` (e.g. the file) and the line when a
/// row has another number of cells than the header or a quote is not closed.
CsvTable parse_csv(const std::string& text, const std::string& what);

}  // namespace util
}  // namespace swd
