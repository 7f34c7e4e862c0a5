#pragma once
// Small helpers shared by the test files.

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>

namespace swd_test {

/// The message of the exception `f` throws, or "" if it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace swd_test

#define EXPECT_CONTAINS(text, word) EXPECT_NE((text).find(word), std::string::npos) << (text)
