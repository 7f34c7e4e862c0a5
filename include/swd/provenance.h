#pragma once
// What produced a result: this program's version and git commit, the LibTorch it runs on,
// the machine, the time and the command line. `swd --version` prints it; config.json and
// sweep.json carry a `provenance` list with one record per start (a resume appends one).

#include <string>

namespace swd {

/// The project's version (CMake's project version), e.g. "0.1.0".
std::string version();
/// The git commit the program was built from ("<sha>-dirty" when tracked files differed),
/// or "" when it was not built from a git checkout.
std::string git_commit();
/// One line: "swd 0.1.0 (commit <sha>, LibTorch 1.13.0, <compiler>)".
std::string version_line();

/// This start as a JSON object (text): swd_version, git_commit, libtorch, compiler, blas,
/// threads (LibTorch's intra-op count now), host, start_time (UTC, ISO 8601), command
/// (this process's arguments), working_dir and, when not empty, data_dir (absolute).
std::string provenance_json(const std::string& data_dir = "");

/// `existing` (a JSON list of records, or "" / not a list: none) with `record` appended.
std::string append_provenance(const std::string& existing, const std::string& record);

}  // namespace swd
