#include "swd/util/signals.h"

#include <signal.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <mutex>
#include <vector>

namespace swd {
namespace util {

namespace {
volatile std::sig_atomic_t g_received = 0;
volatile std::sig_atomic_t g_repeat_ends_process = 0;
constexpr int64_t kNoRequest = INT64_MIN;
std::atomic<int64_t> g_request_ns{kNoRequest};  ///< CLOCK_MONOTONIC time of the last request
std::atomic<int64_t> g_grace_ns{0};
static_assert(std::atomic<int64_t>::is_always_lock_free, "used in a signal handler");

std::mutex g_mutex;  // guards the three below
int g_alive = 0;
std::vector<int> g_signals;
std::vector<struct sigaction> g_previous;

int64_t monotonic_ns() {  // clock_gettime is async-signal-safe
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

extern "C" void remember_signal(int signal_number) {
  const int saved_errno = errno;
  const int64_t now = monotonic_ns();
  const int64_t last = g_request_ns.load();
  if (last != kNoRequest && now - last < g_grace_ns.load()) {  // part of that request
    errno = saved_errno;
    return;
  }
  if (g_received != 0 && g_repeat_ends_process) {  // a second request: the default action, now
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    errno = saved_errno;
    return;
  }
  g_received = signal_number;
  g_request_ns.store(now);
  errno = saved_errno;
}
}  // namespace

SignalCatcher::SignalCatcher(std::initializer_list<int> signals, Repeat repeat, double grace_seconds) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_alive++ > 0) return;  // the first catcher's handlers serve all
  g_received = 0;
  g_request_ns.store(kNoRequest);
  g_grace_ns.store(static_cast<int64_t>(grace_seconds > 0 ? grace_seconds * 1e9 : 0));
  g_repeat_ends_process = repeat == Repeat::EndsProcess;
  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  g_signals.assign(signals);
  g_previous.resize(g_signals.size());
  // While one signal is handled the others wait: the grace check and the record are one step.
  for (int s : g_signals) sigaddset(&action.sa_mask, s);
  for (size_t i = 0; i < g_signals.size(); ++i) ::sigaction(g_signals[i], &action, &g_previous[i]);
}

SignalCatcher::~SignalCatcher() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (--g_alive > 0) return;
  for (size_t i = 0; i < g_signals.size(); ++i) ::sigaction(g_signals[i], &g_previous[i], nullptr);
}

int SignalCatcher::received() const { return g_received; }

int SignalCatcher::take() {
  const int signal_number = g_received;
  g_received = 0;
  return signal_number;
}

}  // namespace util
}  // namespace swd
