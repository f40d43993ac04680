// Fuzz target: Policy::FromText, the loader of text-format policies.
//
// Whatever the text, the load returns a Policy or an error. A policy that
// loads prints as text and as bytes that both load again to the same policy.
#include <cstdint>
#include <string>
#include <string_view>

#include "beckon/policy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool trapped = beckon::fuzz::TrapProtobufLogs();
  (void)trapped;
  using beckon::Policy;
  using beckon::fuzz::Fail;
  absl::StatusOr<Policy> p =
      Policy::FromText({reinterpret_cast<const char*>(data), size});
  if (!p.ok()) {
    if (p.status().message().empty()) Fail("FromText: error without text");
    return 0;
  }
  const std::string bytes = p->ToBytes();
  absl::StatusOr<Policy> text = Policy::FromText(p->ToText());
  if (!text.ok()) Fail("ToText does not load back:", text.status().message());
  if (text->ToBytes() != bytes) Fail("ToText loads back as another policy");
  absl::StatusOr<Policy> again = Policy::FromBytes(bytes);
  if (!again.ok()) Fail("ToBytes does not load back:", again.status().message());
  if (!p->ToJson().ok()) Fail("ToJson fails on a valid policy");
  return 0;
}
