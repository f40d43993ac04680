// Tests for beckon::Policy: the default policy, binary and text encodings,
// files, and every rule of ValidatePolicy.
#include "beckon/policy.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "beckon/engine.h"
#include "beckon/policy.pb.h"
#include "file_test_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "lib/policy_internal.h"

namespace beckon {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

proto::Policy DefaultMessage() {
  return internal::PolicyInternal::Message(Policy::Default());
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  ASSERT_TRUE(out) << "cannot write " << path;
}

// A fresh, empty directory for one test.
class PolicyFiles : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* info =
        testing::UnitTest::GetInstance()->current_test_info();
    dir_ = testing::TempDir() + "beckon_policy_test_" + info->name() + "_" +
           std::to_string(::getpid());
    std::system(("rm -rf '" + dir_ + "'").c_str());
    ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0) << dir_;
  }
  void TearDown() override {
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

// --- The default policy -------------------------------------------------------

TEST(Policy, StringsThatAreNotUtf8AreRejectedAndNamed) {
  // proto3 strings must be UTF-8, or the policy could not be written back.
  const std::vector<std::pair<std::function<void(proto::Policy&)>,
                              std::string>>
      cases = {
          {[](proto::Policy& p) { p.mutable_groups(0)->set_pattern("/caf\xe9"); },
           "groups[0].pattern"},
          {[](proto::Policy& p) { p.mutable_gates()->set_holdout_salt("\xff"); },
           "gates.holdout_salt"},
          {[](proto::Policy& p) { p.set_name("a\xc3"); }, "name"},
          {[](proto::Policy& p) {
             p.mutable_path_rules(0)->set_name("\xed\xa0\x80");  // Surrogate.
           },
           "path_rules[0].name"},
      };
  for (const auto& [edit, field] : cases) {
    proto::Policy m = DefaultMessage();
    edit(m);
    const absl::Status s = ValidatePolicy(m);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(Msg(s), HasSubstr(field + ": is not valid UTF-8"));
    EXPECT_FALSE(internal::PolicyInternal::FromProto(m).ok());
  }
  proto::Policy ok = DefaultMessage();
  ok.set_name("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9b\x92");  // é € 🛒
  EXPECT_TRUE(ValidatePolicy(ok).ok());
}

TEST(Policy, MovingCopiesSoTheSourceStaysUsable) {
  Policy a = Policy::Default();
  Policy b = std::move(a);
  EXPECT_EQ(a.name(), "beckon-default");  // NOLINT: use after move is fine.
  EXPECT_EQ(b.name(), "beckon-default");
  EXPECT_TRUE(Engine::Create(std::move(a)).ok());
}

TEST(Policy, DefaultValidates) {
  const Policy p = Policy::Default();
  EXPECT_TRUE(ValidatePolicy(internal::PolicyInternal::Message(p)).ok())
      << ValidatePolicy(internal::PolicyInternal::Message(p));
  EXPECT_TRUE(
      internal::PolicyInternal::FromProto(internal::PolicyInternal::Message(p))
          .ok());
  EXPECT_EQ(p.name(), "beckon-default");
  EXPECT_EQ(internal::PolicyInternal::Message(p).format_version(), 1u);
  EXPECT_GT(internal::PolicyInternal::Message(p).groups_size(), 0);
  EXPECT_GT(internal::PolicyInternal::Message(p).url_rules_size(), 0);
  EXPECT_TRUE(internal::PolicyInternal::Message(p).has_unlisted());
}

TEST(Policy, DefaultIsOneSharedMessage) {
  const Policy a = Policy::Default();
  const Policy b = Policy::Default();
  EXPECT_EQ(&internal::PolicyInternal::Message(a),
            &internal::PolicyInternal::Message(b));
  const Policy c = a;  // Copies share the message.
  EXPECT_EQ(&internal::PolicyInternal::Message(a),
            &internal::PolicyInternal::Message(c));
}

TEST(Policy, DefaultRoundTripsThroughBytes) {
  const Policy p = Policy::Default();
  const std::string bytes = p.ToBytes();
  ASSERT_FALSE(bytes.empty());
  absl::StatusOr<Policy> q = Policy::FromBytes(bytes);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->ToText(), p.ToText());
  EXPECT_EQ(q->ToBytes(), bytes);
  EXPECT_EQ(q->name(), p.name());
}

TEST(Policy, DefaultRoundTripsThroughText) {
  const Policy p = Policy::Default();
  const std::string text = p.ToText();
  EXPECT_THAT(text, HasSubstr("format_version: 1"));
  EXPECT_THAT(text, HasSubstr("name: \"beckon-default\""));
  absl::StatusOr<Policy> q = Policy::FromText(text);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->ToBytes(), p.ToBytes());
  EXPECT_EQ(q->ToText(), text);
}

// FromJson reads what ToJson writes, validates it like the other forms,
// and names what it cannot read.
TEST(Policy, JsonRoundTripsAndBadJsonNamesTheProblem) {
  const Policy p = Policy::Default();
  absl::StatusOr<std::string> json = p.ToJson();
  ASSERT_TRUE(json.ok()) << json.status();
  absl::StatusOr<Policy> q = Policy::FromJson(*json);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->ToBytes(), p.ToBytes());
  const struct {
    const char* json;
    const char* message;
  } bad[] = {
      {"{\"nope\": 1}", "invalid policy JSON: nope"},
      {"{\"gates\": {\"holdout_fraction\": \"x\"}}", "gates.holdout_fraction"},
      {"{\"format_version\": 1", "invalid policy JSON"},
      {"", "invalid policy JSON"},
      {"{\"format_version\": 2}", "version 1, got 2"},
  };
  for (const auto& b : bad) {
    absl::StatusOr<Policy> r = Policy::FromJson(b.json);
    ASSERT_FALSE(r.ok()) << b.json;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(b.message))
        << b.json;
  }
}

// The JSON form (`beckon inspect --json`, Python's Policy.to_dict): proto
// field names, every field printed even at its default, enums by name.
TEST(Policy, ToJsonPrintsEveryFieldByItsProtoName) {
  const Policy p = Policy::Default();
  absl::StatusOr<std::string> json = p.ToJson();
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json, HasSubstr("\"name\":\"beckon-default\""));
  EXPECT_THAT(*json, HasSubstr("\"dwell_threshold_s\":"));
  EXPECT_THAT(*json, HasSubstr("\"role\":\"ROLE_"));
  EXPECT_THAT(*json, HasSubstr("\"decline_forever\":false"));
}

TEST(Policy, FromProtoTakesACopy) {
  proto::Policy m = DefaultMessage();
  m.set_name("mine");
  absl::StatusOr<Policy> p = internal::PolicyInternal::FromProto(m);
  ASSERT_TRUE(p.ok()) << p.status();
  m.set_name("changed");
  m.clear_groups();
  EXPECT_EQ(p->name(), "mine");
  EXPECT_EQ(internal::PolicyInternal::Message(*p).groups_size(),
            DefaultMessage().groups_size());
}

TEST(Policy, NonFiniteValuesRoundTripThroughTextAsErrors) {
  // A NaN written as text is read back as NaN, and rejected.
  proto::Policy m = DefaultMessage();
  m.mutable_model()->set_bias(kNaN);
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(m, &text));
  absl::StatusOr<Policy> p = Policy::FromText(text);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()), StartsWith("invalid policy: model.bias: "));
}

// --- Bytes -------------------------------------------------------------------

TEST(Policy, MalformedBytesAreNotABinaryPolicy) {
  for (const std::string& bad :
       {std::string("\xff\xff\xff\xff", 4), std::string("\x0a\x7f", 2),
        std::string("hello world"), std::string("\x08", 1)}) {
    SCOPED_TRACE(testing::PrintToString(bad));
    testing::internal::CaptureStderr();
    absl::StatusOr<Policy> p = Policy::FromBytes(bad);
    const std::string err = testing::internal::GetCapturedStderr();
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Msg(p.status()), HasSubstr("not a binary policy"));
    EXPECT_THAT(Msg(p.status()),
                HasSubstr("(" + std::to_string(bad.size()) + " bytes)"));
    EXPECT_EQ(err, "");
  }
}

TEST(Policy, TruncatedBytesAreNotABinaryPolicy) {
  const std::string bytes = Policy::Default().ToBytes();
  absl::StatusOr<Policy> p = Policy::FromBytes(bytes.substr(0, bytes.size() - 1));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()), HasSubstr("not a binary policy"));
}

TEST(Policy, EmptyBytesFailValidationNotParsing) {
  // Zero bytes are a valid, empty message: it fails on its version.
  absl::StatusOr<Policy> p = Policy::FromBytes("");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()), StartsWith("invalid policy: format_version: "));
  EXPECT_THAT(Msg(p.status()), HasSubstr("got 0"));
}

TEST(Policy, BytesAreValidatedOnLoad) {
  proto::Policy m = DefaultMessage();
  m.mutable_groups(1)->set_dwell_threshold_s(-1);
  absl::StatusOr<Policy> p = Policy::FromBytes(m.SerializeAsString());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(p.status()),
            "invalid policy: groups[1].dwell_threshold_s: must be in "
            "(0, 86400] seconds, got -1");
}

// A length-delimited field (tag byte `tag`) holding `payload` (< 128 bytes).
std::string Field(char tag, const std::string& payload) {
  return std::string(1, tag) + static_cast<char>(payload.size()) + payload;
}

// Issue 12, item 9: protobuf's parser wrote "String field ... contains
// invalid UTF-8 data" to stderr for these. The library never logs.
TEST(Policy, BytesThatAreNotUtf8AreRejectedQuietlyAndNamed) {
  const std::string base = Policy::Default().ToBytes();
  const std::string entry_bad_key = Field(0x0a, "\xff") + Field(0x12, "x");
  const std::string entry_bad_value = Field(0x0a, "k") + Field(0x12, "\xfe");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Field(0x12, "a\xc3"), "name"},
      {Field(0x1a, Field(0x1a, entry_bad_key)), "provenance.options[0].key"},
      {Field(0x1a, Field(0x1a, entry_bad_value)),
       "provenance.options[0].value"},
      {Field(0x1a, Field(0x32, Field(0x0a, "\xed\xa0\x80"))),
       "provenance.validation[0].key"},
      {Field(0x2a, Field(0x0a, "/caf\xe9")), "groups[11].pattern"},
      {Field(0x4a, Field(0x42, "\xff")), "gates.holdout_salt"},
  };
  ASSERT_EQ(DefaultMessage().groups_size(), 11);
  for (const auto& [extra, field] : cases) {
    SCOPED_TRACE(field);
    testing::internal::CaptureStderr();
    absl::StatusOr<Policy> p = Policy::FromBytes(base + extra);
    const std::string err = testing::internal::GetCapturedStderr();
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(Msg(p.status()),
              "invalid policy: " + field + ": is not valid UTF-8");
    EXPECT_EQ(err, "");
  }
}

TEST(Policy, BytesMalformedInsideAStringOrMessageAreNotABinaryPolicy) {
  const std::string base = Policy::Default().ToBytes();
  // A group whose length runs past the end; a tag 0 inside a group.
  for (const std::string& extra :
       {std::string("\x2a\x05\x0a\x01", 4), std::string("\x2a\x02\x00\x00", 4),
        std::string("\x12\x80", 2)}) {
    SCOPED_TRACE(testing::PrintToString(extra));
    testing::internal::CaptureStderr();
    absl::StatusOr<Policy> p = Policy::FromBytes(base + extra);
    const std::string err = testing::internal::GetCapturedStderr();
    ASSERT_FALSE(p.ok());
    EXPECT_THAT(Msg(p.status()), HasSubstr("not a binary policy"));
    EXPECT_EQ(err, "");
  }
}

// Issue 12, item 10: a policy with a field this engine does not know printed
// as text that did not load back ("101: 7"). Such a field may be a gate a
// newer beckon enforces, so the policy is rejected, naming the field.
TEST(Policy, BytesWithAnUnknownFieldAreRejectedNamingItsNumber) {
  const std::string base = Policy::Default().ToBytes();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("\xa8\x06\x07", 3), "101: unknown field number 101"},
      // Gates' next free field (13 is max_offer_share).
      {Field(0x4a, std::string("\x70\x01", 2)),
       "gates.14: unknown field number 14"},
      {Field(0x32, std::string("\x30\x09", 2)),
       "unlisted.6: unknown field number 6"},
      {Field(0x42, Field(0x12, std::string("\x18\x01", 2))),
       "model.weights[" +
           std::to_string(DefaultMessage().model().weights_size()) +
           "].3: unknown field number 3"},
      {std::string("\x10\x01", 2), "2: field 2 (name) has the wrong wire type"},
  };
  for (const auto& [extra, error] : cases) {
    SCOPED_TRACE(error);
    testing::internal::CaptureStderr();
    absl::StatusOr<Policy> p = Policy::FromBytes(base + extra);
    const std::string err = testing::internal::GetCapturedStderr();
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Msg(p.status()), StartsWith("invalid policy: " + error));
    EXPECT_EQ(err, "");
  }
}

TEST(Policy, UnknownFieldsInProvenanceAreDroppedSoTextLoadsBack) {
  // Provenance is never read by the engine: a newer trainer's extra note
  // there must not make older engines refuse the policy.
  const std::string base = Policy::Default().ToBytes();
  absl::StatusOr<Policy> p =
      Policy::FromBytes(base + Field(0x1a, std::string("\x38\x05", 2)));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->ToBytes(), base);
  EXPECT_THAT(p->ToText(), Not(HasSubstr("7: 5")));
  absl::StatusOr<Policy> text = Policy::FromText(p->ToText());
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->ToBytes(), base);
}

TEST(Policy, FromProtoRejectsUnknownFieldsAndDropsProvenanceOnes) {
  proto::Policy m = DefaultMessage();
  m.mutable_gates()
      ->GetReflection()
      ->MutableUnknownFields(m.mutable_gates())
      ->AddVarint(14, 1);  // Gates' next free field number.
  absl::Status s = ValidatePolicy(m);
  EXPECT_THAT(Msg(s), StartsWith("invalid policy: gates.14: unknown field"));
  EXPECT_FALSE(internal::PolicyInternal::FromProto(m).ok());

  proto::Policy q = DefaultMessage();
  q.mutable_provenance()->GetReflection()
      ->MutableUnknownFields(q.mutable_provenance())->AddVarint(7, 5);
  absl::StatusOr<Policy> p = internal::PolicyInternal::FromProto(q);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->ToBytes(), Policy::Default().ToBytes());
}

// --- Text --------------------------------------------------------------------

TEST(Policy, TextSyntaxErrorNamesLineAndColumnQuietly) {
  testing::internal::CaptureStderr();
  absl::StatusOr<Policy> p =
      Policy::FromText("format_version: 1\n  name: 7\n");
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()),
              StartsWith("invalid policy text: line 2, column 9: "));
  EXPECT_EQ(err, "");
}

TEST(Policy, TextUnknownFieldNamesLineAndColumnQuietly) {
  testing::internal::CaptureStderr();
  absl::StatusOr<Policy> p =
      Policy::FromText("format_version: 1\nname: \"x\"\nbogus_field: 3\n");
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  // Protobuf places this error at the token after the field name.
  EXPECT_THAT(Msg(p.status()),
              StartsWith("invalid policy text: line 3, column "));
  EXPECT_THAT(Msg(p.status()), HasSubstr("bogus_field"));
  EXPECT_EQ(err, "");
}

TEST(Policy, TextUnknownEnumValueIsASyntaxError) {
  testing::internal::CaptureStderr();
  absl::StatusOr<Policy> p = Policy::FromText(
      "format_version: 1\ngroups { pattern: \"/\" role: ROLE_NOPE }\n");
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()), StartsWith("invalid policy text: line 2, "));
  EXPECT_THAT(Msg(p.status()), HasSubstr("ROLE_NOPE"));
  EXPECT_EQ(err, "");
}

TEST(Policy, TextUnterminatedMessageIsASyntaxError) {
  testing::internal::CaptureStderr();
  absl::StatusOr<Policy> p = Policy::FromText("format_version: 1\nmodel {\n");
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()), StartsWith("invalid policy text: line "));
  EXPECT_EQ(err, "");
}

TEST(Policy, TextIsValidatedOnLoad) {
  absl::StatusOr<Policy> p = Policy::FromText("format_version: 2\n");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(p.status()),
            "invalid policy: format_version: this engine reads version 1, "
            "got 2");
}

TEST(Policy, EmptyTextFailsValidation) {
  absl::StatusOr<Policy> p = Policy::FromText("");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()), StartsWith("invalid policy: format_version: "));
}

// --- Files -------------------------------------------------------------------

TEST_F(PolicyFiles, FromFileReadsBinary) {
  const std::string path = Path("policy.bin");
  proto::Policy m = DefaultMessage();
  m.set_name("binary");
  WriteAll(path, m.SerializeAsString());
  absl::StatusOr<Policy> p = Policy::FromFile(path);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name(), "binary");
  EXPECT_EQ(p->ToBytes(), m.SerializeAsString());
}

TEST_F(PolicyFiles, FromFileReadsTextByExtension) {
  proto::Policy m = DefaultMessage();
  m.set_name("text");
  const std::string text = internal::PolicyInternal::FromProto(m)->ToText();
  for (const char* name : {"p.txtpb", "p.textproto", "p.pbtxt"}) {
    SCOPED_TRACE(name);
    WriteAll(Path(name), text);
    absl::StatusOr<Policy> p = Policy::FromFile(Path(name));
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->name(), "text");
    EXPECT_EQ(p->ToBytes(), m.SerializeAsString());
  }
}

TEST_F(PolicyFiles, FromFileReadsTextWithoutExtension) {
  proto::Policy m = DefaultMessage();
  m.set_name("plain");
  const std::string path = Path("policy");
  WriteAll(path, internal::PolicyInternal::FromProto(m)->ToText());
  testing::internal::CaptureStderr();
  absl::StatusOr<Policy> p = Policy::FromFile(path);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name(), "plain");
  EXPECT_EQ(p->ToBytes(), m.SerializeAsString());
}

TEST_F(PolicyFiles, FromFileMissingIsNotFoundAndNamesThePath) {
  const std::string path = Path("no-such-policy.bin");
  absl::StatusOr<Policy> p = Policy::FromFile(path);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(p.status()), HasSubstr(path));
  EXPECT_FALSE(FileExists(path));  // Loading leaves nothing behind.
}

TEST_F(PolicyFiles, FromFileGarbageIsNeitherBinaryNorText) {
  const std::string path = Path("garbage");
  WriteAll(path, std::string("\xff\xfe{{ not a policy ]]\x01", 22));
  testing::internal::CaptureStderr();
  absl::StatusOr<Policy> p = Policy::FromFile(path);
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()), StartsWith(path + ": "));
  EXPECT_THAT(Msg(p.status()),
              HasSubstr("neither a binary policy nor policy text"));
  EXPECT_THAT(Msg(p.status()), HasSubstr("invalid policy text: line 1"));
  EXPECT_EQ(err, "");
}

TEST_F(PolicyFiles, FromFileTruncatedBinaryIsAnError) {
  const std::string path = Path("truncated.bin");
  const std::string bytes = Policy::Default().ToBytes();
  WriteAll(path, bytes.substr(0, bytes.size() / 2));
  testing::internal::CaptureStderr();
  absl::StatusOr<Policy> p = Policy::FromFile(path);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()), StartsWith(path + ": "));
}

TEST_F(PolicyFiles, FromFileTextSyntaxErrorNamesPathAndLine) {
  const std::string path = Path("bad.txtpb");
  WriteAll(path, "format_version: 1\nname: \"x\"\nbogus_field: 3\n");
  testing::internal::CaptureStderr();
  absl::StatusOr<Policy> p = Policy::FromFile(path);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()),
              StartsWith(path + ": invalid policy text: line 3, column "));
  EXPECT_THAT(Msg(p.status()), HasSubstr("bogus_field"));
}

TEST_F(PolicyFiles, FromFileInvalidBinaryNamesPathAndField) {
  const std::string path = Path("invalid.bin");
  proto::Policy m = DefaultMessage();
  m.mutable_session()->set_timeout_s(0);
  WriteAll(path, m.SerializeAsString());
  absl::StatusOr<Policy> p = Policy::FromFile(path);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()),
              StartsWith(path + ": invalid policy: session.timeout_s: "));
}

TEST_F(PolicyFiles, FromFileInvalidTextWithoutExtensionNamesPathAndField) {
  const std::string path = Path("invalid-text");
  proto::Policy m = DefaultMessage();
  m.mutable_gates()->set_holdout_fraction(1);
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(m, &text));
  WriteAll(path, text);
  absl::StatusOr<Policy> p = Policy::FromFile(path);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(p.status()),
              StartsWith(path + ": invalid policy: gates.holdout_fraction: "));
}

TEST_F(PolicyFiles, FromFileOfADirectoryIsNotAnInvalidPolicy) {
  // A directory is not a file to read: the error must say so, not report
  // the (empty) content as a policy with format_version 0.
  absl::StatusOr<Policy> p = Policy::FromFile(dir_);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(Msg(p.status()), HasSubstr(dir_));
  EXPECT_THAT(Msg(p.status()), Not(HasSubstr("format_version")));
}

TEST_F(PolicyFiles, ToFileWritesAtomically) {
  const std::string path = Path("out.bin");
  const Policy p = Policy::Default();
  ASSERT_TRUE(p.ToFile(path).ok());
  EXPECT_TRUE(FileExists(path));
  EXPECT_FALSE(beckon_test_files::TempLeftBeside(path));
  EXPECT_EQ(ReadAll(path), p.ToBytes());
  absl::StatusOr<Policy> q = Policy::FromFile(path);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->ToText(), p.ToText());
}

TEST_F(PolicyFiles, ToFileReplacesAnExistingFile) {
  const std::string path = Path("out.bin");
  WriteAll(path, std::string(100000, 'x'));  // Longer than the policy.
  proto::Policy m = DefaultMessage();
  m.set_name("replacement");
  const Policy p = *internal::PolicyInternal::FromProto(m);
  ASSERT_TRUE(p.ToFile(path).ok());
  EXPECT_FALSE(beckon_test_files::TempLeftBeside(path));
  EXPECT_EQ(ReadAll(path), p.ToBytes());
  absl::StatusOr<Policy> q = Policy::FromFile(path);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->name(), "replacement");
}

TEST_F(PolicyFiles, ToFileIntoMissingDirectoryFailsAndNamesThePath) {
  const std::string path = Path("no/such/dir/out.bin");
  const absl::Status s = Policy::Default().ToFile(path);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s), HasSubstr(path));
  EXPECT_FALSE(FileExists(path));
  EXPECT_FALSE(beckon_test_files::TempLeftBeside(path));
}

// --- Validation rules ----------------------------------------------------------

struct Case {
  const char* name;                            // Test name suffix.
  std::function<void(proto::Policy&)> mutate;  // Applied to the default.
  const char* field;                           // Named by the error; "" if OK.
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

proto::Policy Mutated(const Case& c) {
  proto::Policy m = DefaultMessage();
  c.mutate(m);
  return m;
}

void AddSteps(proto::Policy& p, int rule, int n) {
  for (int i = 0; i < n; ++i) {
    p.mutable_path_rules(rule)->add_steps()->set_role(proto::ROLE_PRODUCT);
  }
}

void SetPathRules(proto::Policy& p, int n) {
  const proto::PathRule first = p.path_rules(0);
  p.clear_path_rules();
  for (int i = 0; i < n; ++i) {
    proto::PathRule* r = p.add_path_rules();
    *r = first;
    r->set_name("rule " + std::to_string(i));
  }
}

void SetGroupCount(proto::Policy& p, int n) {
  while (p.groups_size() < n) {
    proto::PageGroup* g = p.add_groups();
    g->set_pattern("/generated/" + std::to_string(p.groups_size()));
    g->set_role(proto::ROLE_OTHER);
    g->set_dwell_threshold_s(10);
  }
}

const std::vector<Case>& Invalid() {
  using P = proto::Policy;
  static const auto* const kCases = new std::vector<Case>{
      // format_version
      {"FormatVersion0", [](P& p) { p.set_format_version(0); },
       "format_version"},
      {"FormatVersion2", [](P& p) { p.set_format_version(2); },
       "format_version"},
      // groups
      {"TooManyGroups", [](P& p) { SetGroupCount(p, 65535); }, "groups"},
      {"GroupPatternEmpty", [](P& p) { p.mutable_groups(2)->set_pattern(""); },
       "groups[2].pattern"},
      {"GroupPatternDuplicate",
       [](P& p) { p.mutable_groups(3)->set_pattern(p.groups(0).pattern()); },
       "groups[3].pattern"},
      {"GroupRoleUnspecified",
       [](P& p) { p.mutable_groups(1)->set_role(proto::ROLE_UNSPECIFIED); },
       "groups[1].role"},
      {"GroupRoleOutOfRange",
       [](P& p) {
         p.mutable_groups(1)->set_role(static_cast<proto::Role>(99));
       },
       "groups[1].role"},
      {"GroupDwellNegative",
       [](P& p) { p.mutable_groups(1)->set_dwell_threshold_s(-1); },
       "groups[1].dwell_threshold_s"},
      {"GroupDwellZero",
       [](P& p) { p.mutable_groups(1)->set_dwell_threshold_s(0); },
       "groups[1].dwell_threshold_s"},
      {"GroupDwellNaN",
       [](P& p) { p.mutable_groups(1)->set_dwell_threshold_s(kNaN); },
       "groups[1].dwell_threshold_s"},
      {"GroupDwellInfinite",
       [](P& p) { p.mutable_groups(1)->set_dwell_threshold_s(kInf); },
       "groups[1].dwell_threshold_s"},
      {"GroupDwellOverADay",
       [](P& p) { p.mutable_groups(1)->set_dwell_threshold_s(86400.5); },
       "groups[1].dwell_threshold_s"},
      {"GroupHelpRateNaN",
       [](P& p) { p.mutable_groups(4)->set_help_rate(kNaN); },
       "groups[4].help_rate"},
      {"GroupHelpRateNegative",
       [](P& p) { p.mutable_groups(4)->set_help_rate(-0.01); },
       "groups[4].help_rate"},
      {"GroupHelpRateAboveOne",
       [](P& p) { p.mutable_groups(4)->set_help_rate(1.01); },
       "groups[4].help_rate"},
      // unlisted
      {"UnlistedMissing", [](P& p) { p.clear_unlisted(); }, "unlisted"},
      {"UnlistedRoleUnspecified",
       [](P& p) { p.mutable_unlisted()->set_role(proto::ROLE_UNSPECIFIED); },
       "unlisted.role"},
      {"UnlistedDwellZero",
       [](P& p) { p.mutable_unlisted()->set_dwell_threshold_s(0); },
       "unlisted.dwell_threshold_s"},
      {"UnlistedHelpRateNaN",
       [](P& p) { p.mutable_unlisted()->set_help_rate(kNaN); },
       "unlisted.help_rate"},
      // url_rules
      {"UrlRuleKindUnspecified",
       [](P& p) {
         p.mutable_url_rules(2)->set_kind(proto::UrlRule::KIND_UNSPECIFIED);
       },
       "url_rules[2].kind"},
      {"UrlRuleKindOutOfRange",
       [](P& p) {
         p.mutable_url_rules(2)->set_kind(static_cast<proto::UrlRule::Kind>(7));
       },
       "url_rules[2].kind"},
      {"UrlRuleMatchEmpty", [](P& p) { p.mutable_url_rules(1)->set_match(""); },
       "url_rules[1].match"},
      {"UrlRuleGroupUnknown",
       [](P& p) { p.mutable_url_rules(0)->set_group("/no-such-group"); },
       "url_rules[0].group"},
      {"UrlRuleGroupEmpty", [](P& p) { p.mutable_url_rules(0)->set_group(""); },
       "url_rules[0].group"},
      // path_rules
      {"TooManyPathRules", [](P& p) { SetPathRules(p, 33); }, "path_rules"},
      {"PathRuleNameEmpty", [](P& p) { p.mutable_path_rules(1)->set_name(""); },
       "path_rules[1].name"},
      {"PathRuleNameDuplicate",
       [](P& p) { p.mutable_path_rules(2)->set_name(p.path_rules(0).name()); },
       "path_rules[2].name"},
      {"PathRuleBothEntries",
       [](P& p) {
         p.mutable_path_rules(0)->set_from_search_engine(true);
         p.mutable_path_rules(0)->set_not_from_search_engine(true);
       },
       "path_rules[0]"},
      {"PathRuleNoSteps", [](P& p) { p.mutable_path_rules(0)->clear_steps(); },
       "path_rules[0].steps"},
      {"PathRuleNineSteps",
       [](P& p) { AddSteps(p, 0, 9 - p.path_rules(0).steps_size()); },
       "path_rules[0].steps"},
      {"PathStepGroupUnknown",
       [](P& p) {
         p.mutable_path_rules(0)->mutable_steps(1)->set_group("/no-such-group");
       },
       "path_rules[0].steps[1].group"},
      {"PathStepNeitherGroupNorRole",
       [](P& p) {
         p.mutable_path_rules(1)->mutable_steps(0)->set_role(
             proto::ROLE_UNSPECIFIED);
       },
       "path_rules[1].steps[0]"},
      {"PathStepRoleOutOfRange",
       [](P& p) {
         p.mutable_path_rules(1)->mutable_steps(1)->set_role(
             static_cast<proto::Role>(42));
       },
       "path_rules[1].steps[1]"},
      {"PathRuleStrengthNegative",
       [](P& p) { p.mutable_path_rules(2)->set_strength(-0.1); },
       "path_rules[2].strength"},
      {"PathRuleStrengthNaN",
       [](P& p) { p.mutable_path_rules(2)->set_strength(kNaN); },
       "path_rules[2].strength"},
      {"PathRuleStrengthInfinite",
       [](P& p) { p.mutable_path_rules(2)->set_strength(kInf); },
       "path_rules[2].strength"},
      {"PathRuleHelpRateNaN",
       [](P& p) { p.mutable_path_rules(0)->set_help_rate(kNaN); },
       "path_rules[0].help_rate"},
      {"PathRuleHelpRateAboveOne",
       [](P& p) { p.mutable_path_rules(0)->set_help_rate(1.5); },
       "path_rules[0].help_rate"},
      // model
      {"ModelBiasNaN", [](P& p) { p.mutable_model()->set_bias(kNaN); },
       "model.bias"},
      {"ModelBiasInfinite", [](P& p) { p.mutable_model()->set_bias(-kInf); },
       "model.bias"},
      {"WeightFeatureUnknown",
       [](P& p) { p.mutable_model()->mutable_weights(2)->set_feature("nope"); },
       "model.weights[2].feature"},
      {"WeightFeatureEmpty",
       [](P& p) { p.mutable_model()->mutable_weights(3)->set_feature(""); },
       "model.weights[3].feature"},
      {"WeightFeatureDuplicate",
       [](P& p) {
         p.mutable_model()->mutable_weights(5)->set_feature(
             p.model().weights(0).feature());
       },
       "model.weights[5].feature"},
      {"WeightNaN",
       [](P& p) { p.mutable_model()->mutable_weights(0)->set_weight(kNaN); },
       "model.weights[0].weight"},
      {"WeightInfinite",
       [](P& p) { p.mutable_model()->mutable_weights(4)->set_weight(kInf); },
       "model.weights[4].weight"},
      {"DecisionThreshold0",
       [](P& p) { p.mutable_model()->set_decision_threshold(0); },
       "model.decision_threshold"},
      {"DecisionThreshold1",
       [](P& p) { p.mutable_model()->set_decision_threshold(1); },
       "model.decision_threshold"},
      {"DecisionThresholdNaN",
       [](P& p) { p.mutable_model()->set_decision_threshold(kNaN); },
       "model.decision_threshold"},
      // gates
      {"DeclineCooldownNegative",
       [](P& p) { p.mutable_gates()->set_decline_cooldown_s(-1); },
       "gates.decline_cooldown_s"},
      {"DeclineCooldownOver100Years",
       [](P& p) {
         p.mutable_gates()->set_decline_cooldown_s(int64_t{100} * 365 * 86400 +
                                                   1);
       },
       "gates.decline_cooldown_s"},
      {"IgnoredCap0", [](P& p) { p.mutable_gates()->set_ignored_cap(0); },
       "gates.ignored_cap"},
      {"IgnoredCooldownNegative",
       [](P& p) { p.mutable_gates()->set_ignored_cooldown_s(-1); },
       "gates.ignored_cooldown_s"},
      {"IgnoredCooldownOver100Years",
       [](P& p) {
         p.mutable_gates()->set_ignored_cooldown_s(int64_t{100} * 365 * 86400 +
                                                   1);
       },
       "gates.ignored_cooldown_s"},
      {"MaxOffersPerSession0",
       [](P& p) { p.mutable_gates()->set_max_offers_per_session(0); },
       "gates.max_offers_per_session"},
      {"MaxOffersPerSessionOver255",
       [](P& p) { p.mutable_gates()->set_max_offers_per_session(256); },
       "gates.max_offers_per_session"},
      {"MinGapNegative", [](P& p) { p.mutable_gates()->set_min_gap_s(-1); },
       "gates.min_gap_s"},
      {"MinGapOver100Years",
       [](P& p) {
         p.mutable_gates()->set_min_gap_s(int64_t{100} * 365 * 86400 + 1);
       },
       "gates.min_gap_s"},
      {"BiasHuge", [](P& p) { p.mutable_model()->set_bias(1e7); },
       "model.bias"},
      {"WeightHuge",
       [](P& p) { p.mutable_model()->mutable_weights(0)->set_weight(1e308); },
       "model.weights[0].weight"},
      {"AcceptRateTiny",
       [](P& p) { p.mutable_gates()->set_expected_accept_rate(1e-19); },
       "gates.expected_accept_rate"},
      {"PathStrengthHuge",
       [](P& p) { p.mutable_path_rules(0)->set_strength(1e9); },
       "path_rules[0].strength"},
      {"HoldoutFraction1",
       [](P& p) { p.mutable_gates()->set_holdout_fraction(1); },
       "gates.holdout_fraction"},
      {"HoldoutFractionNegative",
       [](P& p) { p.mutable_gates()->set_holdout_fraction(-0.01); },
       "gates.holdout_fraction"},
      {"HoldoutFractionNaN",
       [](P& p) { p.mutable_gates()->set_holdout_fraction(kNaN); },
       "gates.holdout_fraction"},
      {"ExpectedAcceptRate0",
       [](P& p) { p.mutable_gates()->set_expected_accept_rate(0); },
       "gates.expected_accept_rate"},
      {"ExpectedAcceptRateAboveOne",
       [](P& p) { p.mutable_gates()->set_expected_accept_rate(1.01); },
       "gates.expected_accept_rate"},
      {"ExpectedAcceptRateNaN",
       [](P& p) { p.mutable_gates()->set_expected_accept_rate(kNaN); },
       "gates.expected_accept_rate"},
      {"RateWindow0", [](P& p) { p.mutable_gates()->set_rate_window_s(0); },
       "gates.rate_window_s"},
      {"RateWindowOverADay",
       [](P& p) { p.mutable_gates()->set_rate_window_s(86401); },
       "gates.rate_window_s"},
      {"PlentyAgents0", [](P& p) { p.mutable_gates()->set_plenty_agents(0); },
       "gates.plenty_agents"},
      {"MaxOfferShareNegative",
       [](P& p) { p.mutable_gates()->set_max_offer_share(-0.1); },
       "gates.max_offer_share"},
      {"MaxOfferShareAboveOne",
       [](P& p) { p.mutable_gates()->set_max_offer_share(1.5); },
       "gates.max_offer_share"},
      {"MaxOfferShareNaN",
       [](P& p) { p.mutable_gates()->set_max_offer_share(kNaN); },
       "gates.max_offer_share"},
      {"ThresholdAtOneAgentBelowDecisionThreshold",
       [](P& p) {
         p.mutable_model()->set_decision_threshold(0.8);
         p.mutable_gates()->set_threshold_at_one_agent(0.75);
       },
       "gates.threshold_at_one_agent"},
      {"ThresholdAtOneAgent1",
       [](P& p) { p.mutable_gates()->set_threshold_at_one_agent(1); },
       "gates.threshold_at_one_agent"},
      {"ThresholdAtOneAgentNaN",
       [](P& p) { p.mutable_gates()->set_threshold_at_one_agent(kNaN); },
       "gates.threshold_at_one_agent"},
      // session
      {"SessionTimeout0", [](P& p) { p.mutable_session()->set_timeout_s(0); },
       "session.timeout_s"},
      {"SessionTimeoutNegative",
       [](P& p) { p.mutable_session()->set_timeout_s(-5); },
       "session.timeout_s"},
      {"SessionTimeoutOverAWeek",
       [](P& p) { p.mutable_session()->set_timeout_s(7 * 86400 + 1); },
       "session.timeout_s"},
      {"SearchEngineHostEmpty",
       [](P& p) { p.mutable_session()->set_search_engine_hosts(2, ""); },
       "session.search_engine_hosts[2]"},
  };
  return *kCases;
}

// Edge values each rule must still accept.
const std::vector<Case>& Valid() {
  using P = proto::Policy;
  static const auto* const kCases = new std::vector<Case>{
      {"MaxGroups", [](P& p) { SetGroupCount(p, 65534); }, ""},
      {"MaxOfferShareOne",
       [](P& p) { p.mutable_gates()->set_max_offer_share(1); }, ""},
      {"NoGroupsNoRules",
       [](P& p) {
         p.clear_groups();
         p.clear_url_rules();
       },
       ""},
      {"GroupDwellOneDay",
       [](P& p) { p.mutable_groups(1)->set_dwell_threshold_s(86400); }, ""},
      {"GroupDwellTiny",
       [](P& p) { p.mutable_groups(1)->set_dwell_threshold_s(1e-9); }, ""},
      {"GroupHelpRateBounds",
       [](P& p) {
         p.mutable_groups(0)->set_help_rate(0);
         p.mutable_groups(1)->set_help_rate(1);
       },
       ""},
      {"NoPathRules", [](P& p) { p.clear_path_rules(); }, ""},
      {"MaxPathRules", [](P& p) { SetPathRules(p, 32); }, ""},
      {"OneStep",
       [](P& p) {
         p.mutable_path_rules(0)->mutable_steps()->RemoveLast();
       },
       ""},
      {"EightSteps",
       [](P& p) { AddSteps(p, 0, 8 - p.path_rules(0).steps_size()); }, ""},
      {"StepByGroup",
       [](P& p) {
         proto::PathStep* s = p.mutable_path_rules(0)->mutable_steps(0);
         s->set_role(proto::ROLE_UNSPECIFIED);
         s->set_group("/search");
       },
       ""},
      {"StrengthZero", [](P& p) { p.mutable_path_rules(0)->set_strength(0); },
       ""},
      {"NoWeights", [](P& p) { p.mutable_model()->clear_weights(); }, ""},
      {"DecisionThresholdNearBounds",
       [](P& p) {
         p.mutable_model()->set_decision_threshold(1e-9);
         p.mutable_gates()->set_threshold_at_one_agent(1e-9);
       },
       ""},
      {"ThresholdAtOneAgentEqualsDecisionThreshold",
       [](P& p) { p.mutable_gates()->set_threshold_at_one_agent(0.5); }, ""},
      {"ZeroCooldowns",
       [](P& p) {
         p.mutable_gates()->set_decline_cooldown_s(0);
         p.mutable_gates()->set_ignored_cooldown_s(0);
         p.mutable_gates()->set_min_gap_s(0);
       },
       ""},
      {"Cooldowns100Years",
       [](P& p) {
         const int64_t y100 = int64_t{100} * 365 * 86400;
         p.mutable_gates()->set_decline_cooldown_s(y100);
         p.mutable_gates()->set_ignored_cooldown_s(y100);
         p.mutable_gates()->set_min_gap_s(y100);
       },
       ""},
      {"HoldoutZero", [](P& p) { p.mutable_gates()->set_holdout_fraction(0); },
       ""},
      {"ExpectedAcceptRateOne",
       [](P& p) { p.mutable_gates()->set_expected_accept_rate(1); }, ""},
      {"RateWindowBounds",
       [](P& p) { p.mutable_gates()->set_rate_window_s(86400); }, ""},
      {"RateWindowOne", [](P& p) { p.mutable_gates()->set_rate_window_s(1); },
       ""},
      {"SessionTimeoutOneWeek",
       [](P& p) { p.mutable_session()->set_timeout_s(7 * 86400); }, ""},
      {"NoSearchEngines",
       [](P& p) { p.mutable_session()->clear_search_engine_hosts(); }, ""},
      {"EmptyName", [](P& p) { p.clear_name(); }, ""},
  };
  return *kCases;
}

class PolicyRejects : public testing::TestWithParam<Case> {};

TEST_P(PolicyRejects, NamingTheField) {
  const proto::Policy m = Mutated(GetParam());
  const std::string want =
      std::string("invalid policy: ") + GetParam().field + ": ";

  const absl::Status s = ValidatePolicy(m);
  ASSERT_FALSE(s.ok()) << "accepted; wanted an error naming "
                       << GetParam().field;
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(Msg(s), StartsWith(want));

  // Every way in reports the same error.
  absl::StatusOr<Policy> from_proto = internal::PolicyInternal::FromProto(m);
  ASSERT_FALSE(from_proto.ok());
  EXPECT_EQ(from_proto.status(), s);

  absl::StatusOr<Policy> from_bytes = Policy::FromBytes(m.SerializeAsString());
  ASSERT_FALSE(from_bytes.ok());
  EXPECT_EQ(from_bytes.status(), s);

  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(m, &text));
  absl::StatusOr<Policy> from_text = Policy::FromText(text);
  ASSERT_FALSE(from_text.ok());
  EXPECT_EQ(from_text.status(), s);
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyRejects, testing::ValuesIn(Invalid()),
    [](const testing::TestParamInfo<Case>& info) {
      return std::string(info.param.name);
    });

class PolicyAccepts : public testing::TestWithParam<Case> {};

TEST_P(PolicyAccepts, EdgeValue) {
  const proto::Policy m = Mutated(GetParam());
  EXPECT_TRUE(ValidatePolicy(m).ok()) << ValidatePolicy(m);
  absl::StatusOr<Policy> p = Policy::FromBytes(m.SerializeAsString());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->ToBytes(), m.SerializeAsString());
}

INSTANTIATE_TEST_SUITE_P(
    Policy, PolicyAccepts, testing::ValuesIn(Valid()),
    [](const testing::TestParamInfo<Case>& info) {
      return std::string(info.param.name);
    });

TEST(Policy, ValidationTablesHaveUniqueNames) {
  std::vector<std::string> names;
  for (const Case& c : Invalid()) names.push_back(c.name);
  for (const Case& c : Valid()) names.push_back(c.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

TEST(Policy, ErrorMessageShowsTheOffendingValue) {
  proto::Policy m = DefaultMessage();
  m.mutable_groups(3)->set_dwell_threshold_s(-1);
  EXPECT_EQ(Msg(ValidatePolicy(m)),
            "invalid policy: groups[3].dwell_threshold_s: must be in "
            "(0, 86400] seconds, got -1");

  m = DefaultMessage();
  m.mutable_url_rules(4)->set_group("/nope");
  EXPECT_EQ(Msg(ValidatePolicy(m)),
            "invalid policy: url_rules[4].group: names no group: \"/nope\"");

  m = DefaultMessage();
  m.mutable_model()->mutable_weights(1)->set_feature("dwell");
  EXPECT_EQ(Msg(ValidatePolicy(m)),
            "invalid policy: model.weights[1].feature: unknown feature "
            "\"dwell\"");

  m = DefaultMessage();
  m.mutable_gates()->set_holdout_fraction(1);
  EXPECT_EQ(Msg(ValidatePolicy(m)),
            "invalid policy: gates.holdout_fraction: must be in [0, 1), got 1");

  m = DefaultMessage();
  m.mutable_gates()->set_max_offer_share(1.5);
  EXPECT_EQ(Msg(ValidatePolicy(m)),
            "invalid policy: gates.max_offer_share: must be in [0, 1] (0: "
            "off), got 1.5");
  m.mutable_gates()->set_max_offer_share(std::nan(""));
  EXPECT_EQ(Msg(ValidatePolicy(m)),
            "invalid policy: gates.max_offer_share: must be in [0, 1] (0: "
            "off), got nan");
}

TEST(Policy, FirstOffendingFieldIsReported) {
  proto::Policy m = DefaultMessage();
  m.mutable_session()->set_timeout_s(0);
  m.mutable_groups(5)->set_help_rate(2);
  EXPECT_THAT(Msg(ValidatePolicy(m)),
              StartsWith("invalid policy: groups[5].help_rate: "));
}

}  // namespace
}  // namespace beckon
