#include "swd/util/signals.h"

#include <signal.h>

#include <csignal>
#include <mutex>
#include <vector>

namespace swd {
namespace util {

namespace {
volatile std::sig_atomic_t g_received = 0;
volatile std::sig_atomic_t g_repeat_ends_process = 0;

std::mutex g_mutex;  // guards the three below
int g_alive = 0;
std::vector<int> g_signals;
std::vector<struct sigaction> g_previous;

extern "C" void remember_signal(int signal_number) {
  if (g_received != 0 && g_repeat_ends_process) {  // second signal: the default action, now
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    return;
  }
  g_received = signal_number;
}
}  // namespace

SignalCatcher::SignalCatcher(std::initializer_list<int> signals, Repeat repeat) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_alive++ > 0) return;  // the first catcher's handlers serve all
  g_received = 0;
  g_repeat_ends_process = repeat == Repeat::EndsProcess;
  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  g_signals.assign(signals);
  g_previous.resize(g_signals.size());
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
