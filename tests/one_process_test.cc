// The C++ library (libbeckon.a) and the C ABI (libbeckon_c.so) in one
// process, as in a C++ service that also hosts the C ABI for a plugin.
// Both carry code that uses the generated protobuf messages; the messages
// themselves live in exactly one place, libbeckon_proto.so, so protobuf
// registers beckon/policy.proto once. Before that split this executable
// aborted before main() ("File already exists in database").
#include <cstdlib>
#include <memory>
#include <string>

#include "beckon/beckon.h"
#include "beckon/policy.pb.h"
#include "engine_test_util.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace beckon::testing {
namespace {

struct CPolicyDeleter {
  void operator()(beckon_policy_t* p) const { beckon_policy_destroy(p); }
};
struct CEngineDeleter {
  void operator()(beckon_engine_t* e) const { beckon_engine_destroy(e); }
};
struct CDecisionDeleter {
  void operator()(beckon_decision_t* d) const { beckon_decision_destroy(d); }
};

std::string TakeError(char* err) {
  std::string s = err ? err : "";
  beckon_free(err);
  return s;
}

TEST(OneProcess, PolicyProtoIsRegisteredOnce) {
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  const google::protobuf::FileDescriptor* file =
      pool->FindFileByName("beckon/policy.proto");
  ASSERT_NE(file, nullptr);
  // The C++ side's message type is the one the pool knows: one definition.
  EXPECT_EQ(pool->FindMessageTypeByName("beckon.proto.Policy"),
            proto::Policy::descriptor());
}

TEST(OneProcess, CppAndCEnginesDecideAlikeOnOnePolicy) {
  // A policy made on the C++ side, handed to the C ABI as bytes.
  Policy policy = TestPolicy([](proto::Policy& p) { p.set_name("shared"); });
  const std::string bytes = policy.ToBytes();
  ASSERT_FALSE(bytes.empty());

  beckon_policy_t* raw_policy = nullptr;
  char* err = nullptr;
  ASSERT_EQ(
      beckon_policy_from_bytes(bytes.data(), bytes.size(), &raw_policy, &err),
      BECKON_OK)
      << TakeError(err);
  std::unique_ptr<beckon_policy_t, CPolicyDeleter> c_policy(raw_policy);
  const char* name = nullptr;
  ASSERT_EQ(beckon_policy_name(c_policy.get(), &name, &err), BECKON_OK)
      << TakeError(err);
  EXPECT_STREQ(name, "shared");

  beckon_engine_t* raw_engine = nullptr;
  ASSERT_EQ(beckon_engine_create(c_policy.get(), nullptr, &raw_engine, &err),
            BECKON_OK)
      << TakeError(err);
  std::unique_ptr<beckon_engine_t, CEngineDeleter> c_engine(raw_engine);
  beckon_decision_t* raw_decision = nullptr;
  ASSERT_EQ(beckon_decision_create(&raw_decision, &err), BECKON_OK)
      << TakeError(err);
  std::unique_ptr<beckon_decision_t, CDecisionDeleter> c_decision(raw_decision);

  std::unique_ptr<Engine> cpp_engine = MakeEngine(policy);
  ASSERT_NE(cpp_engine, nullptr);

  // The same stuck visitor in both engines: a search-engine entry, two
  // failed searches, then the returns help page.
  StuckVisitor(*cpp_engine, "v", kT0);
  const char* v = "v";
  ASSERT_EQ(beckon_engine_observe_page_view(c_engine.get(), kT0, v, "/",
                                            "https://www.google.com/", &err),
            BECKON_OK)
      << TakeError(err);
  ASSERT_EQ(beckon_engine_observe_search(c_engine.get(), kT0 + 10 * kSec, v,
                                         "/search?q=a", 0, &err),
            BECKON_OK)
      << TakeError(err);
  ASSERT_EQ(beckon_engine_observe_search(c_engine.get(), kT0 + 20 * kSec, v,
                                         "/search?q=b", 0, &err),
            BECKON_OK)
      << TakeError(err);
  ASSERT_EQ(beckon_engine_observe_page_view(c_engine.get(), kT0 + 30 * kSec, v,
                                            "/help/returns", nullptr, &err),
            BECKON_OK)
      << TakeError(err);

  int offers = 0;
  std::string cpp_version;
  for (int64_t t = kT0 + 31 * kSec; t <= kT0 + 120 * kSec; t += 10 * kSec) {
    const Decision cpp = MustDecide(*cpp_engine, v, t);
    beckon_decision_info_t info = BECKON_DECISION_INFO_INIT;
    ASSERT_EQ(beckon_engine_decide_info(c_engine.get(), v, t, c_decision.get(),
                                        &info, &err),
              BECKON_OK)
        << TakeError(err);
    EXPECT_EQ(info.action, static_cast<int32_t>(cpp.action)) << "at " << t;
    EXPECT_EQ(info.reason, static_cast<int32_t>(cpp.reason)) << "at " << t;
    EXPECT_DOUBLE_EQ(info.probability, cpp.probability) << "at " << t;
    if (info.action == BECKON_ACTION_OFFER) ++offers;
    cpp_version = std::string(cpp.policy_version());
  }
  // The stuck visitor is offered help once, by each engine.
  EXPECT_EQ(offers, 1);

  const char* policy_name = nullptr;
  const char* version = nullptr;
  ASSERT_EQ(beckon_decision_get_policy(c_decision.get(), &policy_name, &version,
                                       &err),
            BECKON_OK)
      << TakeError(err);
  EXPECT_STREQ(policy_name, "shared");
  EXPECT_EQ(std::string(version), cpp_version);
  EXPECT_FALSE(cpp_version.empty());
}

TEST(OneProcess, PolicyTextRoundTripsThroughTheCAbi) {
  const Policy policy = Policy::Default();
  beckon_policy_t* raw = nullptr;
  char* err = nullptr;
  ASSERT_EQ(beckon_policy_default(&raw, &err), BECKON_OK) << TakeError(err);
  std::unique_ptr<beckon_policy_t, CPolicyDeleter> c_policy(raw);
  char* text = nullptr;
  size_t size = 0;
  ASSERT_EQ(beckon_policy_to_text(c_policy.get(), &text, &size, &err),
            BECKON_OK)
      << TakeError(err);
  const std::string c_text(text, size);
  beckon_free(text);
  absl::StatusOr<Policy> parsed = Policy::FromText(c_text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->ToBytes(), policy.ToBytes());
}

}  // namespace
}  // namespace beckon::testing
