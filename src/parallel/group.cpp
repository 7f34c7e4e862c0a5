// The process group: c10d TCPStore/FileStore rendezvous and ProcessGroupGloo collectives, and
// ProcessGroupNCCL for CUDA tensors where LibTorch has it (SWD_HAVE_NCCL, found at configure
// time by src/CMakeLists.txt). The only translation unit that includes the c10d headers.
#include "swd/parallel/group.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ATen/ops/tensor.h>
#include <c10/util/Exception.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/cuda.h>
#ifdef SWD_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include "swd/errors.h"

namespace swd {
namespace parallel {

namespace {

std::string seconds(std::chrono::milliseconds t) {
  std::ostringstream out;
  out << static_cast<double>(t.count()) / 1000.0 << " s";
  return out.str();
}

/// A socket of `type` for `host` (resolved, first address); closes itself.
struct Socket {
  int fd = -1;
  addrinfo* info = nullptr;
  Socket(const std::string& host, int type, const char* port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = type;
    if (::getaddrinfo(host.c_str(), port, &hints, &info) != 0 || info == nullptr) {
      throw std::invalid_argument("cannot resolve the address '" + host + "'");
    }
    fd = ::socket(info->ai_family, info->ai_socktype, 0);
    if (fd < 0) throw DistError("cannot open a socket: " + std::string(std::strerror(errno)));
  }
  ~Socket() {
    if (fd >= 0) ::close(fd);
    if (info) ::freeaddrinfo(info);
  }
  /// The local address and port the socket is bound to.
  std::pair<std::string, int> local() const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw DistError("getsockname failed: " + std::string(std::strerror(errno)));
    }
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = addr.ss_family == AF_INET6
                          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr)
                          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&addr)->sin_addr);
    ::inet_ntop(addr.ss_family, raw, text, sizeof text);
    const int port = ntohs(addr.ss_family == AF_INET6
                               ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                               : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    return {text, port};
  }
};

/// The local address of the interface that routes to `host` (a connected UDP socket sends
/// nothing): rank 0 and the others then reach each other on that interface. GLOO_SOCKET_IFNAME,
/// PyTorch's variable, names an interface instead.
std::shared_ptr<::gloo::transport::Device> make_device(const std::string& host) {
  if (const char* iface = std::getenv("GLOO_SOCKET_IFNAME"); iface && *iface) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(iface);
  }
  Socket probe(host, SOCK_DGRAM, "9");
  if (::connect(probe.fd, probe.info->ai_addr, probe.info->ai_addrlen) != 0) {
    throw DistError("no route to the master address " + host + ": " + std::strerror(errno));
  }
  return c10d::ProcessGroupGloo::createDeviceForHostname(probe.local().first);
}

/// Consecutive tensors of one dtype and device, about `bucket_bytes` each (at least one).
std::vector<std::vector<at::Tensor>> buckets_of(const std::vector<at::Tensor>& tensors,
                                                int64_t bucket_bytes) {
  std::vector<std::vector<at::Tensor>> buckets;
  int64_t bytes = 0;
  for (const auto& t : tensors) {
    const int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
    if (buckets.empty() || bytes + size > bucket_bytes ||
        buckets.back().front().scalar_type() != t.scalar_type() ||
        buckets.back().front().device() != t.device()) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(t);
    bytes += size;
  }
  return buckets;
}

/// The tensors of a bucket side by side in one buffer, and back.
at::Tensor flatten(const std::vector<at::Tensor>& bucket) {
  std::vector<at::Tensor> flat;
  for (const auto& t : bucket) flat.push_back(t.reshape({-1}));
  return at::cat(flat);
}
void unflatten_into(const at::Tensor& buffer, const std::vector<at::Tensor>& bucket) {
  int64_t offset = 0;
  for (const auto& t : bucket) {
    t.copy_(buffer.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

void validate(const GroupOptions& o) {
  if (o.world_size < 1) {
    throw std::invalid_argument("world size " + std::to_string(o.world_size) + " must be >= 1");
  }
  if (o.rank < 0 || o.rank >= o.world_size) {
    throw std::invalid_argument("rank " + std::to_string(o.rank) + " must be in 0.." +
                                std::to_string(o.world_size - 1) + " for world size " +
                                std::to_string(o.world_size));
  }
  if (o.timeout.count() <= 0) {
    throw std::invalid_argument("timeout " + std::to_string(o.timeout.count()) +
                                " ms must be > 0");
  }
  if (o.world_size > 1 && o.store_file.empty() && (o.master_port < 1 || o.master_port > 65535)) {
    throw std::invalid_argument("master port " + std::to_string(o.master_port) +
                                " must be in 1..65535 (rank 0 listens there) when world size is " +
                                std::to_string(o.world_size));
  }
}

}  // namespace

struct Group::Impl {
  GroupOptions options;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
#ifdef SWD_HAVE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;  ///< for CUDA tensors
#endif
  std::string broken;  ///< the first failure; non-empty: no more collectives

  std::string who() const {
    return "rank " + std::to_string(options.rank) + " of " + std::to_string(options.world_size);
  }

  [[noreturn]] void fail(const std::string& what, const std::exception& e) {
    broken = who() + ": " + what + " failed: " + message_of(e) +
             " (a rank stopped, crashed or did not answer within the timeout of " +
             seconds(options.timeout) + ")";
    throw DistError(broken);
  }

  /// Broadcast of one buffer from rank 0, with NCCL for a CUDA buffer where there is NCCL.
  void broadcast_one(std::vector<at::Tensor>& buffer) {
    c10d::BroadcastOptions options;
    options.rootRank = 0;
#ifdef SWD_HAVE_NCCL
    if (nccl && buffer.front().is_cuda()) {
      nccl->broadcast(buffer, options)->wait();
      return;
    }
#endif
    pg->broadcast(buffer, options)->wait();
  }

  /// Runs `launch_and_wait` for a collective, turning any failure into DistError.
  template <typename F>
  void collective(const std::string& what, F&& launch_and_wait) {
    if (!broken.empty()) throw DistError(who() + ": " + what + " after an earlier failure: " + broken);
    try {
      launch_and_wait();
    } catch (const std::exception& e) {
      fail(what, e);
    }
  }

  /// The store and process group of a rendezvous, made on a thread of their own: LibTorch's
  /// TCPStore can wait without a timeout (a stopped rank 0, a port that accepts and never
  /// answers) and adds its timeouts up (connect, then wait for the workers).
  struct Rendezvous {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    std::exception_ptr error;
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  };

  static void rendezvous(const GroupOptions& o, Rendezvous& out) {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
    std::exception_ptr error;
    try {
      if (o.store_file.empty()) {
        c10d::TCPStoreOptions store_options;
        store_options.port = static_cast<std::uint16_t>(o.master_port);
        store_options.isServer = o.rank == 0 && !o.store_served_elsewhere;
        store_options.numWorkers = static_cast<std::size_t>(o.world_size);
        store_options.waitWorkers = true;
        store_options.timeout = o.timeout;
        store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, store_options);
        if (!o.store_prefix.empty()) store = c10::make_intrusive<c10d::PrefixStore>(o.store_prefix, store);
      } else {
        store = c10::make_intrusive<c10d::FileStore>(o.store_file, static_cast<int>(o.world_size));
        store->setTimeout(o.timeout);
      }
      auto pg_options = c10d::ProcessGroupGloo::Options::create(o.timeout);
      pg_options->devices.push_back(make_device(o.master_addr));
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(o.rank),
                                                       static_cast<int>(o.world_size), pg_options);
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(out.mutex);
    out.store = store;
    out.pg = pg;
    out.error = error;
    out.done = true;
    out.cv.notify_all();
  }

  void join() {
    const auto& o = options;
    const std::string where = o.store_file.empty()
                                  ? o.master_addr + ":" + std::to_string(o.master_port)
                                  : "file " + o.store_file;
    const std::string hint = o.rank == 0 ? "not every rank joined" : "rank 0 did not answer";
    auto fail = [&](const std::string& why) {
      throw DistError(who() + ": rendezvous at " + where + " failed: " + why + " (" + hint +
                      " within the timeout of " + seconds(o.timeout) +
                      "; every rank must start within it)");
    };
    // The whole rendezvous ends within the timeout plus this margin (docs/DISTRIBUTED.md).
    constexpr auto kMargin = std::chrono::seconds(1);
    auto state = std::make_shared<Rendezvous>();
    std::thread([state, o] { rendezvous(o, *state); }).detach();  // may outlive a failure
    std::unique_lock<std::mutex> lock(state->mutex);
    if (!state->cv.wait_for(lock, o.timeout + kMargin, [&] { return state->done; })) {
      fail("no answer within " + seconds(o.timeout + kMargin));
    }
    if (state->error) {
      try {
        std::rethrow_exception(state->error);
      } catch (const std::invalid_argument&) {
        throw;
      } catch (const std::exception& e) {
        fail(message_of(e));
      }
    }
    store = state->store;
    pg = state->pg;
#ifdef SWD_HAVE_NCCL
    if (torch::cuda::is_available()) {  // its own keys in the store: a prefix
      try {
        auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
        nccl_options->timeout = o.timeout;
        nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(
            c10::make_intrusive<c10d::PrefixStore>("nccl", store), static_cast<int>(o.rank),
            static_cast<int>(o.world_size), nccl_options);
      } catch (const std::exception& e) {
        fail("NCCL: " + message_of(e));
      }
    }
#endif
  }
};

Group::Group(const GroupOptions& options) : impl_(std::make_unique<Impl>()) {
  validate(options);
  impl_->options = options;
  if (options.world_size > 1) {
    // LibTorch's distributed code logs its own view of a failure (2-4 lines) before ours:
    // failures are reported once, by the DistError.
    FLAGS_minloglevel = std::max(FLAGS_minloglevel, 3);
    impl_->join();
  }
}

Group::~Group() = default;

int64_t Group::rank() const noexcept { return impl_->options.rank; }
int64_t Group::world_size() const noexcept { return impl_->options.world_size; }
std::chrono::milliseconds Group::timeout() const noexcept { return impl_->options.timeout; }

void Group::broadcast(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes,
                      const std::string& what) {
  if (world_size() == 1 || tensors.empty()) return;
  impl_->collective(what, [&] {
    at::NoGradGuard no_grad;  // parameters are leaves that require grad
    for (const auto& bucket : buckets_of(tensors, bucket_bytes)) {  // one broadcast per bucket
      std::vector<at::Tensor> buffer = {flatten(bucket)};
      impl_->broadcast_one(buffer);
      if (impl_->options.rank != 0) unflatten_into(buffer.front(), bucket);
    }
  });
}

void Group::allreduce_sum(std::vector<std::vector<at::Tensor>>& buckets, const std::string& what) {
  if (world_size() == 1) return;
  impl_->collective(what, [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> pending;
#ifdef SWD_HAVE_NCCL  // CUDA buckets: one NCCL allreduce of the flattened bucket each
    std::vector<std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>*>> flat;
    flat.reserve(buckets.size());
    for (auto& bucket : buckets) {
      if (!bucket.empty() && impl_->nccl && bucket.front().is_cuda()) {
        flat.push_back({{flatten(bucket)}, &bucket});
        pending.push_back(impl_->nccl->allreduce(flat.back().first));
      }
    }
#endif
    for (auto& bucket : buckets) {
      if (bucket.empty()) continue;
#ifdef SWD_HAVE_NCCL
      if (impl_->nccl && bucket.front().is_cuda()) continue;
#endif
      pending.push_back(impl_->pg->allreduce_coalesced(bucket));
    }
    for (auto& work : pending) work->wait();
#ifdef SWD_HAVE_NCCL
    for (auto& [buffer, bucket] : flat) unflatten_into(buffer.front(), *bucket);
#endif
  });
}

std::vector<double> Group::sum(const std::vector<double>& values, const std::string& what) {
  if (world_size() == 1 || values.empty()) return values;
  std::vector<at::Tensor> tensors = {at::tensor(values, at::kDouble)};
  impl_->collective(what, [&] { impl_->pg->allreduce(tensors)->wait(); });
  const double* out = tensors[0].data_ptr<double>();
  return std::vector<double>(out, out + values.size());
}

void Group::barrier(const std::string& what) {
  if (world_size() == 1) return;
  impl_->collective(what, [&] { impl_->pg->barrier()->wait(); });
}

int free_port(const std::string& host) {
  Socket s(host, SOCK_STREAM, "0");
  if (::bind(s.fd, s.info->ai_addr, s.info->ai_addrlen) != 0) {
    throw DistError("cannot bind a port on " + host + ": " + std::strerror(errno));
  }
  return s.local().second;
}

}  // namespace parallel
}  // namespace swd
