// The utility layer (include/swd/util/): atomic files, CSV, spawn and the core count, the
// signal catcher.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "cli_support.h"
#include "swd/run/metrics.h"
#include "swd/runtime.h"
#include "swd/util/csv.h"
#include "swd/util/io.h"
#include "swd/util/number.h"
#include "swd/util/process.h"
#include "swd/util/signals.h"

namespace fs = std::filesystem;
namespace util = swd::util;
using swd_test::fresh_dir;
using swd_test::slurp;

namespace {

template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

/// Runs `script` with /bin/sh as spawn() starts it; its exit status.
int run_shell(const std::string& script, util::SpawnOptions options = {}) {
  return util::wait_for(util::spawn({"/bin/sh", "-c", script}, options).pid);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(UtilIo, WritesAtomicallyAndKeepsTheOldFileWhenWritingFails) {
  const auto dir = fresh_dir("util-io");
  const auto path = dir + "/a.txt";
  util::write_file_atomically(path, "one");
  util::write_file_atomically(path, "two");
  EXPECT_EQ(util::read_file(path), "two");
  EXPECT_FALSE(fs::exists(path + ".tmp"));

  fs::create_directory(path + ".tmp");  // the temporary file cannot be created
  const auto message = error_of([&] { util::write_file_atomically(path, "three"); });
  EXPECT_TRUE(contains(message, path + ".tmp")) << message;
  EXPECT_EQ(util::read_file(path), "two");

  const auto missing = dir + "/no/such/folder/b.txt";
  EXPECT_TRUE(contains(error_of([&] { util::write_file_atomically(missing, "x"); }), missing));
  EXPECT_TRUE(contains(error_of([&] { util::read_file(missing); }), missing));
}

TEST(UtilIo, AppendsLines) {
  const auto path = fresh_dir("util-append") + "/log.csv";
  util::append_line_durably(path, "a,b");
  util::append_line_durably(path, "1,2");
  EXPECT_EQ(util::read_file(path), "a,b\n1,2\n");
}

TEST(UtilIo, NeverWritesThroughALinkItDidNotMake) {
  const auto dir = fresh_dir("util-links");
  const auto victim = dir + "/victim";
  std::ofstream(victim) << "precious\n";
  fs::create_symlink(victim, dir + "/log");
  fs::create_hard_link(victim, dir + "/hard");
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  for (const auto& [name, why] : {std::pair<std::string, std::string>{"log", "symbolic link"},
                                  {"hard", "2 hard links"}, {"fifo", "a FIFO"}}) {
    const auto path = dir + "/" + name;
    for (auto mode : {util::WriteMode::Append, util::WriteMode::ReadWrite}) {
      const auto message = error_of([&] { ::close(util::open_for_writing(path, mode)); });
      EXPECT_TRUE(contains(message, path) && contains(message, why)) << message;
    }
    EXPECT_TRUE(contains(error_of([&] { util::append_line_durably(path, "x"); }), why));
    EXPECT_TRUE(contains(error_of([&] { util::check_writable_in_place(path); }), why));
  }
  EXPECT_EQ(error_of([&] { util::check_writable_in_place(dir + "/absent"); }), "");
  // Replaced files: a link at the target or at its temporary name is replaced, not followed.
  fs::create_symlink(victim, dir + "/a.txt");
  fs::create_symlink(victim, dir + "/b.txt.tmp");
  util::write_file_atomically(dir + "/a.txt", "a");
  util::write_file_atomically(dir + "/b.txt", "b");
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_FALSE(fs::is_symlink(dir + "/a.txt"));
  EXPECT_EQ(slurp(dir + "/a.txt"), "a");
  EXPECT_EQ(slurp(dir + "/b.txt"), "b");
  fs::remove(dir + "/hard");
  const int fd = util::open_for_writing(victim, util::WriteMode::Append);  // a plain file: fine
  EXPECT_EQ(::write(fd, "more\n", 5), 5);
  ::close(fd);
  EXPECT_EQ(slurp(victim), "precious\nmore\n");
}

TEST(UtilIo, ReadsRegularFilesOnlyAndNoMoreThanTheirSize) {
  const auto dir = fresh_dir("util-read");
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  fs::create_symlink("/dev/zero", dir + "/zero");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(contains(error_of([&] { util::read_file(dir + "/fifo"); }), "a FIFO, not a regular file"));
  EXPECT_TRUE(contains(error_of([&] { util::read_file(dir + "/zero"); }), "a device, not a regular file"));
  EXPECT_TRUE(contains(error_of([&] { util::read_file(dir); }), "a folder"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5);
  std::ofstream(dir + "/f.bin") << "MAGICrest";
  EXPECT_EQ(util::read_file(dir + "/f.bin", {"MAGIC", "", 0}), "MAGICrest");
  const auto wrong = error_of([&] { util::read_file(dir + "/f.bin", {"OTHER", "a thing", 0}); });
  EXPECT_TRUE(contains(wrong, dir + "/f.bin is not a thing") && contains(wrong, "OTHER")) << wrong;
  EXPECT_TRUE(contains(error_of([&] { util::read_file(dir + "/f.bin", {"MAGICrest+more", "", 0}); }),
                       "does not start with"));
  EXPECT_TRUE(contains(error_of([&] { util::read_file(dir + "/f.bin", {"", "", 4}); }),
                       "holds 9 bytes, more than the limit of 4"));
  EXPECT_EQ(util::read_file(dir + "/f.bin", {"", "", 9}), "MAGICrest");
}

TEST(UtilCsv, QuotesOnlyWhatMustBeQuotedAndReadsItBack) {
  const std::vector<std::string> fields = {"plain", "a,b", "say \"hi\"", "two\nlines", ""};
  const std::string text = util::csv_line({"h1", "h2", "h3", "h4", "h5"}) + "\n" + util::csv_line(fields) + "\n";
  EXPECT_EQ(util::csv_line({"plain", "0.9,0.999", "say \"hi\"", ""}), "plain,\"0.9,0.999\",\"say \"\"hi\"\"\",");
  EXPECT_EQ(util::csv_field("plain"), "plain");
  EXPECT_EQ(util::csv_field("a,b"), "\"a,b\"");
  const auto table = util::parse_csv(text, "t.csv");
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.rows[0], fields);
  EXPECT_EQ(table.column("h3"), 2);
  EXPECT_EQ(table.column("nope"), -1);
  for (double v : {0.1, 1e-5, 1.0 / 3.0, 0.1 + 0.2, 5e-4 / 1e-3, 123456789.0, -2.5e-300}) {
    EXPECT_EQ(std::stod(util::shortest_number(v)), v);
  }
  EXPECT_EQ(util::shortest_number(0.1), "0.1");
  EXPECT_EQ(util::shortest_number(1e-5), "1e-05");
  const auto message = error_of([] { util::parse_csv("a,b\n1,2,3\n", "bad.csv"); });
  EXPECT_TRUE(contains(message, "bad.csv")) << message;
}

TEST(UtilNumber, OneFormForEveryNumberWritten) {
  // The fewest digits that read back, in %g's form, whole numbers written out (100, not
  // %.1g's "1e+02"; 1e20 keeps its exponent); 2^-24 -> 17 digits (its 16-digit neighbours
  // read back too, but %.16g rounds outside).
  EXPECT_EQ(util::shortest_number(100), "100");
  EXPECT_EQ(util::shortest_number(-20), "-20");
  EXPECT_EQ(util::shortest_number(1e20), "1e+20");
  EXPECT_EQ(util::shortest_number(2.5e6), "2500000");
  EXPECT_EQ(util::shortest_number(1048576), "1048576");
  EXPECT_EQ(util::shortest_number(std::ldexp(1.0, -24)), "5.9604644775390625e-08");
  EXPECT_EQ(util::shortest_number(-0.0), "-0");
  EXPECT_EQ(util::shortest_number(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(util::shortest_number(-std::numeric_limits<double>::quiet_NaN()), "nan");
  // metrics.csv writes its cells with it, as the reports and messages do.
  swd::run::EpochMetrics m;
  m.epoch = 1;
  m.lr = std::ldexp(1.0, -24);
  m.seconds = 1048576;
  const auto row = swd::run::metrics_csv_row(m);
  EXPECT_EQ(row.substr(0, row.find(",", 2)), "1,5.9604644775390625e-08") << row;
  EXPECT_NE(row.find(",1048576,"), std::string::npos) << row;
  // Help's form: the same value, exactly, the shorter of plain and unpadded exponent.
  for (const auto& [v, text] : std::vector<std::pair<double, std::string>>{
           {0.1, "0.1"}, {1e-3, "1e-3"}, {5e-4, "5e-4"}, {0.999, "0.999"}, {100, "100"},
           {1e20, "1e20"}, {1e-8, "1e-8"}, {0.5, "0.5"}, {86400, "86400"}, {0.123456789, "0.123456789"}}) {
    EXPECT_EQ(util::compact_number(v), text) << v;
  }
}

TEST(UtilProcess, SpawnSetsEnvironmentFolderAndLog) {
  const auto dir = fresh_dir("util-spawn");
  util::SpawnOptions options;
  options.log_path = dir + "/out.log";
  options.working_dir = dir;
  options.extra_env = {"SWD_UTIL_TEST=hello", "HOME=/replaced"};
  EXPECT_EQ(run_shell("echo \"$SWD_UTIL_TEST $HOME\"; pwd; echo to-stderr >&2; read x; exit 3", options), 3);
  const auto log = slurp(options.log_path);
  EXPECT_TRUE(contains(log, "hello /replaced\n")) << log;
  EXPECT_TRUE(contains(log, fs::canonical(dir).string() + "\n")) << log;
  EXPECT_TRUE(contains(log, "to-stderr\n")) << log;  // standard input is /dev/null: read ends
  // Appended, not truncated.
  EXPECT_EQ(run_shell("echo second", options), 0);
  EXPECT_TRUE(contains(slurp(options.log_path), "to-stderr\nsecond\n"));
}

TEST(UtilProcess, ExitStatusesAndAMissingProgram) {
  const auto log = fresh_dir("util-status") + "/log";
  EXPECT_EQ(run_shell("kill -9 $$"), 128 + SIGKILL);
  EXPECT_EQ(util::run_process({"/no/such/program"}, log), 127);
  EXPECT_TRUE(contains(slurp(log), "cannot execute /no/such/program")) << slurp(log);
  util::SpawnOptions options;
  options.log_path = fresh_dir("util-status-missing") + "/no/folder/log";
  EXPECT_TRUE(contains(error_of([&] { util::spawn({"/bin/true"}, options); }), options.log_path));
  EXPECT_THROW(util::spawn({}), std::invalid_argument);
  ASSERT_TRUE(util::find_program("sh").has_value());
  EXPECT_FALSE(util::find_program("swd-no-such-program").has_value());
}

TEST(UtilProcess, PipesStandardErrorDropsStandardOutputAndRunsAnotherProgram) {
  util::SpawnOptions options;
  options.pipe_stderr = true;
  options.discard_stdout = true;
  options.own_process_group = true;
  options.program = "/bin/sh";  // argv[0] is only a name
  const auto child = util::spawn({"a-name", "-c", "echo out; echo \"err $0\" >&2; sleep 0.3"}, options);
  ASSERT_GE(child.stderr_fd, 0);
  bool own_group = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!own_group && std::chrono::steady_clock::now() < until) {
    own_group = ::getpgid(child.pid) == child.pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(own_group);
  EXPECT_EQ(util::wait_for(child.pid), 0);
  std::string text;
  char buffer[256];
  ssize_t n;
  while ((n = ::read(child.stderr_fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(n));
  ::close(child.stderr_fd);
  EXPECT_EQ(text, "err a-name\n");  // and "out" went to /dev/null, not into the test's output
}

TEST(UtilProcess, CoresFollowTheAffinityAndSizeTheThreads) {
  cpu_set_t all;
  ASSERT_EQ(::sched_getaffinity(0, sizeof all, &all), 0);
  EXPECT_EQ(util::available_cores(), CPU_COUNT(&all));
  int first = 0;
  while (!CPU_ISSET(first, &all)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(::sched_setaffinity(0, sizeof one, &one), 0);  // this thread only
  const int cores_then = util::available_cores();
  const int threads_then = swd::configure_threads(0);
  ASSERT_EQ(::sched_setaffinity(0, sizeof all, &all), 0);
  swd::configure_threads(0);
  EXPECT_EQ(cores_then, 1);
  EXPECT_EQ(threads_then, 1);
}

TEST(Runtime, DenormalsAreFlushedInEveryThreadOfThePool) {
  // swd train calls configure_denormals after its setup, whose parallel regions have started
  // the intra-op pool already: the threads of that pool must flush too. 1e-39 is a float32
  // denormal: stored as it is (a fill moves bits), multiplied it reads as 0.
  const float tiny = 1e-39f;
  ASSERT_EQ(std::fpclassify(tiny), FP_SUBNORMAL);
  at::set_num_threads(2);
  const auto denormals = at::full({1 << 20}, tiny);  // large enough to be split between threads
  EXPECT_EQ(at::mul(denormals, 1.0f).count_nonzero().item<int64_t>(), 1 << 20);  // IEEE; pool started
  if (!swd::configure_denormals()) GTEST_SKIP() << "this CPU cannot flush denormals";
  EXPECT_EQ(at::mul(denormals, 1.0f).count_nonzero().item<int64_t>(), 0);  // every thread's part
}

TEST(UtilSignals, RemembersTakesAndRestoresThePreviousHandler) {
  struct sigaction before {};
  before.sa_handler = SIG_IGN;
  sigemptyset(&before.sa_mask);
  struct sigaction saved {};
  ASSERT_EQ(::sigaction(SIGUSR1, &before, &saved), 0);
  {
    util::SignalCatcher catcher({SIGUSR1}, util::SignalCatcher::Repeat::Remember, 0);  // no grace
    EXPECT_EQ(catcher.received(), 0);
    ::raise(SIGUSR1);
    EXPECT_EQ(catcher.received(), SIGUSR1);
    {
      util::SignalCatcher second({SIGUSR1});  // alive together: one flag, handlers kept
      EXPECT_EQ(second.received(), SIGUSR1);
    }
    EXPECT_EQ(catcher.take(), SIGUSR1);
    EXPECT_EQ(catcher.received(), 0);
    ::raise(SIGUSR1);  // still caught after the second catcher ended
    EXPECT_EQ(catcher.take(), SIGUSR1);
  }
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGUSR1, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
  ::sigaction(SIGUSR1, &saved, nullptr);
}

TEST(UtilSignals, ASecondSignalEndsTheProcessWhenAsked) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    util::SignalCatcher catcher({SIGUSR1, SIGUSR2}, util::SignalCatcher::Repeat::EndsProcess, 0.3);
    ::raise(SIGUSR2);
    if (catcher.received() != SIGUSR2) ::_exit(3);
    ::raise(SIGUSR2);  // within the grace period: the same request
    ::raise(SIGUSR1);
    if (catcher.received() != SIGUSR2) ::_exit(5);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    ::raise(SIGUSR1);  // a second request: ends the process with the signal's default action
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(util::exit_status_of(status), 128 + SIGUSR1);
}

TEST(UtilSignals, SignalsWithinTheGracePeriodAreOneRequest) {
  struct sigaction saved {};
  ::sigaction(SIGUSR1, nullptr, &saved);
  {
    util::SignalCatcher catcher({SIGUSR1, SIGUSR2}, util::SignalCatcher::Repeat::Remember, 0.3);
    ::raise(SIGUSR1);
    EXPECT_EQ(catcher.take(), SIGUSR1);
    ::raise(SIGUSR2);  // 0 ms later: the request already taken
    ::raise(SIGUSR1);
    EXPECT_EQ(catcher.take(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    ::raise(SIGUSR2);  // after the grace period: a new request
    EXPECT_EQ(catcher.take(), SIGUSR2);
  }
  EXPECT_DOUBLE_EQ(util::kSameRequestSeconds, 2.0);  // what docs/TRAINING.md promises
  ::sigaction(SIGUSR1, &saved, nullptr);
}
