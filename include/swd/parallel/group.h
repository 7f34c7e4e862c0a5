#pragma once
// A group of training processes ("ranks") on LibTorch's own distributed engine: rendezvous
// through a c10d TCPStore (or FileStore), collectives on a c10d ProcessGroupGloo. A group of
// one process does nothing and touches no network.
//
// Every collective and the rendezvous wait at most `timeout`: when a rank dies or hangs, the
// others throw DistError naming the operation and the timeout instead of waiting forever.
// After a failure the group is broken and every later collective throws at once.
//
// This header keeps the c10d and Gloo headers out of the code that uses it.

#include <ATen/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace swd {
namespace parallel {

/// A failed rendezvous or collective (a rank died, hung, or could not be reached).
class DistError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct GroupOptions {
  int64_t rank = 0;
  int64_t world_size = 1;
  /// Rank 0's address; rank 0 serves the c10d TCPStore there and the others connect to it.
  std::string master_addr = "127.0.0.1";
  /// The TCPStore's port: required (1..65535) when world_size > 1 and store_file is empty.
  int64_t master_port = 0;
  /// Non-empty: rendezvous through this file (c10d FileStore) instead of TCP, for ranks that
  /// share a file system (tests run ranks as threads of one process this way).
  std::string store_file;
  /// Another process already serves the TCPStore at master_addr:master_port (torchrun's
  /// agent, TORCHELASTIC_USE_AGENT_STORE=True): every rank connects to it, none serves.
  bool store_served_elsewhere = false;
  /// Non-empty: every key of the rendezvous goes under this prefix (c10d PrefixStore), as
  /// PyTorch's "/worker/attempt_<restart>" in a store shared with torchrun's agent.
  std::string store_prefix;
  /// Bound on the rendezvous and on every collective.
  std::chrono::milliseconds timeout{60000};
};

class Group {
 public:
  /// Joins the group; blocks until every rank has joined. Throws std::invalid_argument on bad
  /// options, DistError when the rendezvous fails or times out.
  explicit Group(const GroupOptions& options = GroupOptions());
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  int64_t rank() const noexcept;
  int64_t world_size() const noexcept;
  /// Rank 0: the one that writes files and prints.
  bool is_main() const noexcept { return rank() == 0; }
  std::chrono::milliseconds timeout() const noexcept;

  /// Copies rank 0's values into `tensors` on every rank, in buckets of `bucket_bytes`
  /// (c10d::broadcast_coalesced). `what` names the operation in errors.
  void broadcast(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes,
                 const std::string& what);

  /// Sums over ranks, in place: one allreduce per bucket, all launched before the first is
  /// waited for. Each bucket is a list of dense tensors of one dtype and device
  /// (ProcessGroupGloo::allreduce_coalesced flattens it into one buffer).
  void allreduce_sum(std::vector<std::vector<at::Tensor>>& buckets, const std::string& what);

  /// Each value summed over ranks (one allreduce of a float64 tensor; integers up to 2^53
  /// are exact).
  std::vector<double> sum(const std::vector<double>& values, const std::string& what);

  /// Returns once every rank has reached it.
  void barrier(const std::string& what);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A TCP port that was free on `host` a moment ago (bound with port 0, then released).
int free_port(const std::string& host = "127.0.0.1");

}  // namespace parallel
}  // namespace swd
