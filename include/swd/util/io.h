#pragma once
// The one way swd writes and reads the files of its run and sweep folders.
//
// Writing. A folder may hold links someone else planted (`ln -s /home/me/.bashrc
// run/train.log`); swd never writes through one:
//  - Files replaced whole (config.json, checkpoint.pt, runs.csv, report.md, exit.json...)
//    are written to a temporary file in the same folder, created new (O_EXCL | O_NOFOLLOW:
//    a link or file of that name is removed first, never followed), flushed and fsync'ed,
//    then renamed over the target (and the folder fsync'ed): complete or absent. A link at
//    the target's name is replaced, its target untouched.
//  - Files written in place (locks, logs, appended rows: .swd-lock, train.log,
//    metrics.csv, steps.jsonl, .sweep.lock, and any later one) are opened with
//    open_for_writing / open_for_append only: O_NOFOLLOW, and the file must be a regular
//    file with no other hard link, else one line naming the path is thrown.
//
// Reading. read_file reads regular files only (a FIFO is refused, not waited on; a device
// such as /dev/zero, reached through a link or not, is refused, not read without end) and
// never more than the size the file has when opened.

#include <cstdint>
#include <cstdio>
#include <string>

namespace swd {
namespace util {

/// Writes `contents` to `path` atomically. Throws std::runtime_error naming the path and the
/// system's reason (unwritable folder, disk full...); the old file, if any, stays intact.
void write_file_atomically(const std::string& path, const std::string& contents);

/// How open_for_writing opens a file (created with mode 0644 when absent).
enum class WriteMode {
  Append,     ///< write only, every write at the end (logs, appended rows)
  ReadWrite,  ///< read and write, nothing truncated (lock files)
};

/// Opens `path` to write in place, close-on-exec, never through a symbolic link, never a
/// file that is not regular (a FIFO, device or folder) or that has another hard link (its
/// other name may be anywhere). Throws std::runtime_error, one line naming the path and
/// why. Returns the descriptor; close it with ::close.
int open_for_writing(const std::string& path, WriteMode mode);

/// Throws what open_for_writing would when `path` is there and may not be written in place
/// (a link, not a regular file, another hard link); creates and changes nothing. For a check
/// before a run writes anything.
void check_writable_in_place(const std::string& path);

/// open_for_writing(path, WriteMode::Append) as a stdio stream (close with std::fclose).
std::FILE* open_for_append(const std::string& path);

/// Appends one line to `path` (opened by open_for_writing) and fsyncs it (metrics rows).
/// Throws like the above.
void append_line_durably(const std::string& path, const std::string& line);

/// Makes `tmp_path` durable and renames it to `path` (for files written by other code).
void commit_file(const std::string& tmp_path, const std::string& path);

/// How read_file reads a file.
struct ReadLimits {
  /// The bytes the file must start with (checked before anything else is read); empty: any.
  std::string magic;
  /// What the file is meant to be, for the message when `magic` is not there ("an swd
  /// checkpoint").
  std::string what;
  /// Larger files are refused without being read; 0: no limit but the file's size.
  uint64_t max_bytes = 0;
};

/// The whole file, at most the size it has when opened. Throws std::runtime_error naming the
/// path when it cannot be read, is not a regular file (checked before any byte is read),
/// does not start with limits.magic, or is larger than limits.max_bytes.
std::string read_file(const std::string& path, const ReadLimits& limits = {});

}  // namespace util
}  // namespace swd
