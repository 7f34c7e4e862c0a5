#include "swd/util/csv.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace swd {
namespace util {

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + csv_field(fields[i]);
  return line;
}

int CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return static_cast<int>(i);
  }
  return -1;
}

CsvTable parse_csv(const std::string& text, const std::string& what) {
  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false, row_has_content = false;
  int line_number = 1, row_start = 1;
  std::vector<int> starts;
  auto end_row = [&] {
    row.push_back(cell);
    if (row_has_content || row.size() > 1 || !row[0].empty()) {
      lines.push_back(row);
      starts.push_back(row_start);
    }
    row.clear();
    cell.clear();
    row_has_content = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        if (ch == '\n') ++line_number;
        cell += ch;
      }
    } else if (ch == '"') {
      quoted = true;
      row_has_content = true;
    } else if (ch == ',') {
      row.push_back(cell);
      cell.clear();
    } else if (ch == '\n') {
      end_row();
      row_start = ++line_number;
    } else if (ch != '\r') {
      cell += ch;
    }
  }
  if (quoted) {
    throw std::runtime_error(what + ": line " + std::to_string(row_start) +
                             ": a quoted field is not closed");
  }
  if (!cell.empty() || !row.empty()) end_row();
  CsvTable table;
  if (lines.empty()) throw std::runtime_error(what + " is empty (expected a header line)");
  table.header = lines[0];
  for (size_t r = 1; r < lines.size(); ++r) {
    if (lines[r].size() != table.header.size()) {
      throw std::runtime_error(what + ": line " + std::to_string(starts[r]) + " has " +
                               std::to_string(lines[r].size()) + " cells, expected " +
                               std::to_string(table.header.size()));
    }
    table.rows.push_back(lines[r]);
  }
  return table;
}

}  // namespace util
}  // namespace swd
