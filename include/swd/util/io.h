#pragma once
// Files that are either complete or absent: written to a temporary file in the same folder,
// flushed and fsync'ed, then renamed over the target (and the folder fsync'ed).

#include <string>

namespace swd {
namespace util {

/// Writes `contents` to `path` atomically. Throws std::runtime_error naming the path and the
/// system's reason (unwritable folder, disk full...); the old file, if any, stays intact.
void write_file_atomically(const std::string& path, const std::string& contents);

/// Appends one line to `path` and fsyncs it (metrics rows). Throws like the above.
void append_line_durably(const std::string& path, const std::string& line);

/// Makes `tmp_path` durable and renames it to `path` (for files written by other code).
void commit_file(const std::string& tmp_path, const std::string& path);

/// The whole file. Throws std::runtime_error naming the path if it cannot be read.
std::string read_file(const std::string& path);

}  // namespace util
}  // namespace swd
