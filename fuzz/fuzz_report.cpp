// swd report's untrusted inputs: strings that reach gnuplot (titles, labels, keys) and a
// sweep folder's runs.csv (run folders that may point anywhere). A hostile string must not
// add a line to the gnuplot script (a line is where a command could start), and reading a
// runs.csv ends in results or an exception, never a crash.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "swd/report/figures.h"
#include "swd/report/results.h"

namespace {

size_t lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

/// The figure of a fixed shape with `parts` as its strings (cycled).
swd::report::Figure figure_of(const std::vector<std::string>& parts) {
  auto part = [&](size_t i) { return parts.empty() ? std::string("x") : parts[i % parts.size()]; };
  swd::report::Figure f;
  f.name = "figure";
  f.title = part(0);
  f.xlabel = part(1);
  f.ylabel = part(2);
  for (size_t s = 0; s < 2; ++s) f.series.push_back({part(3 + s), {1, 2}, {0.5, 0.25}, {}});
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // 1. gnuplot strings: parts separated by NUL bytes.
  std::vector<std::string> parts;
  for (size_t start = 0, end; start <= text.size(); start = end + 1) {
    end = text.find('\0', start);
    if (end == std::string::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
  }
  const auto hostile = swd::report::gnuplot_script(figure_of(parts), "figure.dat", "figure");
  const auto plain = swd::report::gnuplot_script(figure_of({}), "figure.dat", "figure");
  if (lines(hostile) != lines(plain)) std::abort();  // a string ended its line
  // 2. runs.csv: the input is a sweep folder's index.
  const auto dir = "/tmp/swd-fuzz-report-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::filesystem::rename(swd_fuzz::write_input("runs.csv", data, size), dir + "/runs.csv");
  try {
    swd::report::load_results(dir);
  } catch (const std::exception&) {
  }
  return 0;
}
