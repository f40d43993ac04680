// Shared by the fuzz targets (tests/fuzz/*_fuzz.cc) and the seed generator.
#ifndef BECKON_TESTS_FUZZ_FUZZ_UTIL_H_
#define BECKON_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "beckon/engine.h"
#include "google/protobuf/stubs/logging.h"

namespace beckon::fuzz {

// The engine options of the Restore target and of the seeds made for it: a
// fixed visitor key (a snapshot restores only under the key it was written
// with) and few shards, so that creating an engine per input is cheap.
inline Engine::Options RestoreOptions() {
  Engine::Options o;
  o.visitor_key = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  o.shards = 4;
  o.max_sessions = 4096;
  o.max_memory_records = 4096;
  return o;
}

// Stops the run with a finding: a broken invariant, not a crash of the code
// under test. The message goes to stderr, which libFuzzer (and the replay
// driver) show; abort() makes the input a kept crash.
[[noreturn]] inline void Fail(const char* what, std::string_view detail = {}) {
  const std::string text(detail);
  std::fprintf(stderr, "fuzz invariant broken: %s %s\n", what, text.c_str());
  std::abort();
}
// The same for a status message (Debian's absl::string_view is its own type).
[[noreturn]] inline void Fail(const char* what, absl::string_view detail) {
  Fail(what, std::string_view(detail.data(), detail.size()));
}
[[noreturn]] inline void Fail(const char* what, const std::string& detail) {
  Fail(what, std::string_view(detail));
}

// Makes any message protobuf logs a finding: the library must never write
// to stderr (issue 12, item 9). Only a test may replace protobuf's global
// log handler; the library never does. Call it once per process, before
// the first input (targets call it from a function-local static).
inline bool TrapProtobufLogs() {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*,
                                     int, const std::string& message) {
    Fail("protobuf logged:", message);
  });
  return true;
}

// Reads fixed-size values from the front of the input; zeros once it runs
// out, so every input decodes to some sequence.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  bool empty() const { return n_ == 0; }
  uint8_t U8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | U8();
    return v;
  }
  // Up to `max` bytes, length first.
  std::string_view Str(size_t max) {
    size_t len = U8() % (max + 1);
    if (len > n_) len = n_;
    std::string_view s(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return s;
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

}  // namespace beckon::fuzz

#endif  // BECKON_TESTS_FUZZ_FUZZ_UTIL_H_
