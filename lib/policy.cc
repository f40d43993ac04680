#include "beckon/policy.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "file_util.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/wire_format_lite.h"
#include "model_features.h"
#include "policy_internal.h"
#include "string_views.h"

namespace beckon {
namespace {

using proto::Role;

constexpr size_t kMaxGroups = 65534;  // Group indexes are 16-bit.
constexpr int kMaxPathRules = 32;
constexpr int kMaxPathSteps = 8;
constexpr int64_t kMaxTimeoutS = 7 * 24 * 3600;
constexpr int64_t kMaxCooldownS = int64_t{100} * 365 * 24 * 3600;

// Collects text-format parse errors instead of letting protobuf print them.
class TextErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrFormat("line %d, column %d: %s", line + 1, column + 1,
                               message);
    }
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber,
                  const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid policy: ", field, ": ", problem));
}

bool ValidRole(Role role) {
  return proto::Role_IsValid(role) && role != proto::ROLE_UNSPECIFIED;
}

absl::Status ValidateGroup(const proto::PageGroup& g, const std::string& at) {
  if (!ValidRole(g.role())) {
    return Invalid(at + ".role", absl::StrCat("must name a role, got ",
                                              static_cast<int>(g.role())));
  }
  if (!std::isfinite(g.dwell_threshold_s()) || g.dwell_threshold_s() <= 0 ||
      g.dwell_threshold_s() > 86400) {
    return Invalid(at + ".dwell_threshold_s",
                   absl::StrCat("must be in (0, 86400] seconds, got ",
                                g.dwell_threshold_s()));
  }
  if (!(g.help_rate() >= 0 && g.help_rate() <= 1)) {
    return Invalid(at + ".help_rate",
                   absl::StrCat("must be in [0, 1], got ", g.help_rate()));
  }
  return absl::OkStatus();
}

// Model numbers are bounded so that no sum of them can overflow to inf or
// NaN: features are capped, and |weights|, |bias| <= kMaxWeight.
constexpr double kMaxWeight = 1e6;

absl::Status CheckWeight(double v, absl::string_view field) {
  if (!(std::fabs(v) <= kMaxWeight)) {
    return Invalid(field, absl::StrCat("must be finite with magnitude <= ",
                                       kMaxWeight, ", got ", v));
  }
  return absl::OkStatus();
}

// Weights by feature name (`field`: "model.weights" or
// "model.uplift.weights"): each a known feature, once, with a bounded weight.
absl::Status CheckFeatureWeights(
    const google::protobuf::RepeatedPtrField<proto::FeatureWeight>& weights,
    const std::string& field) {
  bool seen[internal::kFeatureCount] = {};
  for (int i = 0; i < weights.size(); ++i) {
    const auto& w = weights[i];
    const std::string at = absl::StrCat(field, "[", i, "]");
    const std::optional<int> f = internal::ParseFeature(w.feature());
    if (!f) {
      return Invalid(at + ".feature",
                     absl::StrCat("unknown feature \"", w.feature(), "\""));
    }
    if (seen[*f]) {
      return Invalid(at + ".feature",
                     absl::StrCat("duplicate feature \"", w.feature(), "\""));
    }
    seen[*f] = true;
    if (absl::Status s = CheckWeight(w.weight(), at + ".weight"); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// Returns true if `s` is well-formed UTF-8 (protobuf's string fields must
// be, or the message cannot be written back).
bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c >> 5) == 0x6) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c >> 4) == 0xe) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c >> 3) == 0x1e) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // Truncated sequence.
    for (int k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d >> 6) != 0x2) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    const uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

absl::Status CheckUtf8(const std::string& v, absl::string_view field) {
  if (!IsUtf8(v)) return Invalid(field, "is not valid UTF-8");
  return absl::OkStatus();
}

// Every string field of the policy, with its path.
absl::Status CheckStrings(const proto::Policy& p) {
  std::vector<std::pair<const std::string*, std::string>> fields;
  fields.emplace_back(&p.name(), "name");
  fields.emplace_back(&p.provenance().created_by(), "provenance.created_by");
  fields.emplace_back(&p.provenance().notes(), "provenance.notes");
  for (const auto& [k, v] : p.provenance().options()) {
    fields.emplace_back(&k, "provenance.options (key)");
    fields.emplace_back(&v, "provenance.options[" + k + "]");
  }
  for (const auto& [k, v] : p.provenance().validation()) {
    fields.emplace_back(&k, "provenance.validation (key)");
  }
  for (int i = 0; i < p.url_rules_size(); ++i) {
    fields.emplace_back(&p.url_rules(i).match(),
                        absl::StrCat("url_rules[", i, "].match"));
    fields.emplace_back(&p.url_rules(i).group(),
                        absl::StrCat("url_rules[", i, "].group"));
  }
  for (int i = 0; i < p.groups_size(); ++i) {
    fields.emplace_back(&p.groups(i).pattern(),
                        absl::StrCat("groups[", i, "].pattern"));
  }
  fields.emplace_back(&p.unlisted().pattern(), "unlisted.pattern");
  for (int i = 0; i < p.path_rules_size(); ++i) {
    fields.emplace_back(&p.path_rules(i).name(),
                        absl::StrCat("path_rules[", i, "].name"));
    for (int j = 0; j < p.path_rules(i).steps_size(); ++j) {
      fields.emplace_back(&p.path_rules(i).steps(j).group(),
                          absl::StrCat("path_rules[", i, "].steps[", j,
                                       "].group"));
    }
  }
  for (int i = 0; i < p.model().weights_size(); ++i) {
    fields.emplace_back(&p.model().weights(i).feature(),
                        absl::StrCat("model.weights[", i, "].feature"));
  }
  fields.emplace_back(&p.gates().holdout_salt(), "gates.holdout_salt");
  for (int i = 0; i < p.session().search_engine_hosts_size(); ++i) {
    fields.emplace_back(&p.session().search_engine_hosts(i),
                        absl::StrCat("session.search_engine_hosts[", i, "]"));
  }
  for (const auto& [value, field] : fields) {
    if (absl::Status s = CheckUtf8(*value, field); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Unknown fields: a field this engine does not know (written by a newer
// beckon, or damage) may be a gate or a setting that changes decisions, so a
// policy that carries one is rejected rather than run without it. Only
// Provenance is exempt: the engine never reads it, and its unknown fields
// are dropped at load (DropIgnoredUnknownFields), so a loaded policy always
// prints as text that loads back.
absl::Status CheckUnknownFields(const google::protobuf::Message& m,
                                const std::string& path) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown = r->GetUnknownFields(m);
  if (!unknown.empty()) {
    const int number = unknown.field(0).number();
    const std::string at =
        path.empty() ? absl::StrCat(number) : absl::StrCat(path, ".", number);
    if (const FieldDescriptor* f =
            m.GetDescriptor()->FindFieldByNumber(number)) {
      return Invalid(at, absl::StrCat("field ", number, " (", f->name(),
                                      ") has the wrong wire type"));
    }
    return Invalid(at, absl::StrCat(
                           "unknown field number ", number,
                           " (written by a newer beckon?); this engine "
                           "cannot apply it"));
  }
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        f->message_type() == proto::Provenance::descriptor()) {
      continue;
    }
    const std::string at = path.empty() ? f->name() : path + "." + f->name();
    if (!f->is_repeated()) {
      if (absl::Status s = CheckUnknownFields(r->GetMessage(m, f), at);
          !s.ok()) {
        return s;
      }
      continue;
    }
    for (int i = 0; i < r->FieldSize(m, f); ++i) {
      if (absl::Status s = CheckUnknownFields(r->GetRepeatedMessage(m, f, i),
                                              absl::StrCat(at, "[", i, "]"));
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

// Drops what a load ignores by design: unknown fields of the provenance.
void DropIgnoredUnknownFields(proto::Policy& p) {
  if (p.has_provenance()) p.mutable_provenance()->DiscardUnknownFields();
}

absl::Status NotBinary(size_t size) {
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid policy: not a binary policy message (", size, " bytes)"));
}

// Checks the binary encoding before protobuf's parser sees it: every string
// field of `type` and of its submessages (map entries included) must hold
// UTF-8. protobuf's parser rejects such a field too, but it also writes an
// error to stderr, and a library must not log (docs/concepts.md): so the
// parser is never given one. Malformed encodings are rejected as protobuf
// would. `path` names the message for errors ("groups[3]").
absl::Status CheckWireStrings(const google::protobuf::Descriptor& type,
                              std::string_view bytes, const std::string& path,
                              size_t whole_size) {
  using google::protobuf::FieldDescriptor;
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  absl::flat_hash_map<int, int> repeats;  // Field number -> elements seen.
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (in.ExpectAtEnd()) return absl::OkStatus();
      return NotBinary(whole_size);
    }
    const FieldDescriptor* f =
        type.FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool checked =
        f != nullptr &&
        WireFormatLite::GetTagWireType(tag) ==
            WireFormatLite::WIRETYPE_LENGTH_DELIMITED &&
        (f->type() == FieldDescriptor::TYPE_STRING ||
         f->type() == FieldDescriptor::TYPE_MESSAGE);
    if (!checked) {
      if (!WireFormatLite::SkipField(&in, tag)) return NotBinary(whole_size);
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return NotBinary(whole_size);
    const void* data = "";
    int available = 0;
    // Fails only at the end of the input, where just a length of 0 fits.
    if (!in.GetDirectBufferPointer(&data, &available)) available = 0;
    if (length > static_cast<uint32_t>(available)) return NotBinary(whole_size);
    const std::string_view payload(static_cast<const char*>(data), length);
    in.Skip(static_cast<int>(length));
    std::string at = path.empty() ? f->name() : path + "." + f->name();
    if (f->is_repeated()) absl::StrAppend(&at, "[", repeats[f->number()]++, "]");
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (!IsUtf8(internal::AbslView(payload))) {
        return Invalid(at, "is not valid UTF-8");
      }
    } else if (absl::Status s = CheckWireStrings(*f->message_type(), payload,
                                                 at, whole_size);
               !s.ok()) {
      return s;
    }
  }
}

}  // namespace

absl::Status ValidatePolicy(const proto::Policy& p) {
  if (p.format_version() != 1) {
    return Invalid("format_version",
                   absl::StrCat("this engine reads version 1, got ",
                                p.format_version()));
  }
  if (absl::Status s = CheckStrings(p); !s.ok()) return s;
  if (absl::Status s = CheckUnknownFields(p, ""); !s.ok()) return s;
  if (p.groups_size() > static_cast<int>(kMaxGroups)) {
    return Invalid("groups", absl::StrCat("at most ", kMaxGroups, ", got ",
                                          p.groups_size()));
  }
  absl::flat_hash_set<std::string_view> patterns;
  for (int i = 0; i < p.groups_size(); ++i) {
    const auto& g = p.groups(i);
    const std::string at = absl::StrCat("groups[", i, "]");
    if (g.pattern().empty()) return Invalid(at + ".pattern", "is empty");
    if (!patterns.insert(g.pattern()).second) {
      return Invalid(at + ".pattern",
                     absl::StrCat("duplicate pattern \"", g.pattern(), "\""));
    }
    if (absl::Status s = ValidateGroup(g, at); !s.ok()) return s;
  }
  if (!p.has_unlisted()) return Invalid("unlisted", "is missing");
  if (absl::Status s = ValidateGroup(p.unlisted(), "unlisted"); !s.ok()) {
    return s;
  }
  for (int i = 0; i < p.url_rules_size(); ++i) {
    const auto& r = p.url_rules(i);
    const std::string at = absl::StrCat("url_rules[", i, "]");
    if (r.kind() != proto::UrlRule::PREFIX && r.kind() != proto::UrlRule::GLOB) {
      return Invalid(at + ".kind", "must be PREFIX or GLOB");
    }
    if (r.match().empty()) return Invalid(at + ".match", "is empty");
    if (!patterns.contains(r.group())) {
      return Invalid(at + ".group",
                     absl::StrCat("names no group: \"", r.group(), "\""));
    }
  }
  if (p.path_rules_size() > kMaxPathRules) {
    return Invalid("path_rules", absl::StrCat("at most ", kMaxPathRules,
                                              ", got ", p.path_rules_size()));
  }
  absl::flat_hash_set<std::string_view> rule_names;
  for (int i = 0; i < p.path_rules_size(); ++i) {
    const auto& r = p.path_rules(i);
    const std::string at = absl::StrCat("path_rules[", i, "]");
    if (r.name().empty()) return Invalid(at + ".name", "is empty");
    if (!rule_names.insert(r.name()).second) {
      return Invalid(at + ".name",
                     absl::StrCat("duplicate name \"", r.name(), "\""));
    }
    if (r.from_search_engine() && r.not_from_search_engine()) {
      return Invalid(at,
                     "sets both from_search_engine and "
                     "not_from_search_engine: at most one");
    }
    if (r.steps_size() < 1 || r.steps_size() > kMaxPathSteps) {
      return Invalid(at + ".steps", absl::StrCat("must hold 1 to ",
                                                 kMaxPathSteps, " steps, got ",
                                                 r.steps_size()));
    }
    for (int j = 0; j < r.steps_size(); ++j) {
      const auto& step = r.steps(j);
      const std::string sat = absl::StrCat(at, ".steps[", j, "]");
      if (!step.group().empty()) {
        if (!patterns.contains(step.group())) {
          return Invalid(sat + ".group", absl::StrCat("names no group: \"",
                                                      step.group(), "\""));
        }
      } else if (!ValidRole(step.role())) {
        return Invalid(sat, "must name a group or a role");
      }
    }
    if (!(r.strength() >= 0 && r.strength() <= 1000)) {
      return Invalid(at + ".strength",
                     absl::StrCat("must be in [0, 1000], got ", r.strength()));
    }
    if (!(r.help_rate() >= 0 && r.help_rate() <= 1)) {
      return Invalid(at + ".help_rate", "must be in [0, 1]");
    }
  }
  const auto& m = p.model();
  if (absl::Status s = CheckWeight(m.bias(), "model.bias"); !s.ok()) return s;
  if (absl::Status s = CheckFeatureWeights(m.weights(), "model.weights");
      !s.ok()) {
    return s;
  }
  if (!(m.decision_threshold() > 0 && m.decision_threshold() < 1)) {
    return Invalid("model.decision_threshold",
                   absl::StrCat("must be in (0, 1), got ",
                                m.decision_threshold()));
  }
  if (m.has_exploration()) {
    const auto& x = m.exploration();
    if (!(x.share() > 0 && x.share() < 1)) {
      return Invalid("model.exploration.share",
                     absl::StrCat("must be in (0, 1), got ", x.share()));
    }
    if (!(x.floor() > 0 && x.floor() < m.decision_threshold())) {
      return Invalid("model.exploration.floor",
                     absl::StrCat("must be in (0, model.decision_threshold), "
                                  "got ",
                                  x.floor()));
    }
  }
  if (m.has_uplift()) {
    const auto& u = m.uplift();
    if (absl::Status s = CheckWeight(u.bias(), "model.uplift.bias"); !s.ok()) {
      return s;
    }
    if (absl::Status s =
            CheckFeatureWeights(u.weights(), "model.uplift.weights");
        !s.ok()) {
      return s;
    }
    if (u.by_value()) {
      if (!(u.mean_order_value() > 0 && u.mean_order_value() <= 1e9)) {
        return Invalid("model.uplift.mean_order_value",
                       absl::StrCat("must be in (0, 1e9] with by_value, got ",
                                    u.mean_order_value()));
      }
      if (!(std::fabs(u.min_uplift()) <= 1e9)) {
        return Invalid("model.uplift.min_uplift",
                       absl::StrCat("must be finite with magnitude <= 1e9 "
                                    "with by_value, got ",
                                    u.min_uplift()));
      }
    } else if (!(u.min_uplift() > -1 && u.min_uplift() < 1)) {
      return Invalid("model.uplift.min_uplift",
                     absl::StrCat("must be in (-1, 1), got ", u.min_uplift()));
    }
    if (u.outcome() != "purchase") {
      return Invalid(
          "model.uplift.outcome",
          absl::StrCat("must be \"purchase\", got \"", u.outcome(), "\""));
    }
  }
  const auto& g = p.gates();
  if (g.decline_cooldown_s() < 0 || g.decline_cooldown_s() > kMaxCooldownS) {
    return Invalid("gates.decline_cooldown_s", "must be in [0, 100 years]");
  }
  if (g.ignored_cap() < 1) return Invalid("gates.ignored_cap", "must be >= 1");
  if (g.ignored_cooldown_s() < 0 || g.ignored_cooldown_s() > kMaxCooldownS) {
    return Invalid("gates.ignored_cooldown_s", "must be in [0, 100 years]");
  }
  if (g.max_offers_per_session() < 1 || g.max_offers_per_session() > 255) {
    return Invalid("gates.max_offers_per_session",
                   absl::StrCat("must be in [1, 255], got ",
                                g.max_offers_per_session()));
  }
  if (g.min_gap_s() < 0 || g.min_gap_s() > kMaxCooldownS) {
    return Invalid("gates.min_gap_s", "must be in [0, 100 years]");
  }
  if (!(g.holdout_fraction() >= 0 && g.holdout_fraction() < 1)) {
    return Invalid("gates.holdout_fraction",
                   absl::StrCat("must be in [0, 1), got ",
                                g.holdout_fraction()));
  }
  if (!(g.expected_accept_rate() >= 0.001 && g.expected_accept_rate() <= 1)) {
    return Invalid("gates.expected_accept_rate",
                   absl::StrCat("must be in [0.001, 1], got ",
                                g.expected_accept_rate()));
  }
  if (g.rate_window_s() < 1 || g.rate_window_s() > 86400) {
    return Invalid("gates.rate_window_s", "must be in [1, 86400]");
  }
  if (!(g.max_offer_share() >= 0 && g.max_offer_share() <= 1)) {
    return Invalid("gates.max_offer_share",
                   absl::StrCat("must be in [0, 1] (0: off), got ",
                                g.max_offer_share()));
  }
  if (g.plenty_agents() < 1) {
    return Invalid("gates.plenty_agents", "must be >= 1");
  }
  if (!(g.threshold_at_one_agent() >= m.decision_threshold() &&
        g.threshold_at_one_agent() < 1)) {
    return Invalid("gates.threshold_at_one_agent",
                   absl::StrCat("must be in [model.decision_threshold, 1), "
                                "got ",
                                g.threshold_at_one_agent()));
  }
  if (p.session().timeout_s() <= 0 || p.session().timeout_s() > kMaxTimeoutS) {
    return Invalid("session.timeout_s",
                   absl::StrCat("must be in (0, ", kMaxTimeoutS, "], got ",
                                p.session().timeout_s()));
  }
  for (int i = 0; i < p.session().search_engine_hosts_size(); ++i) {
    if (p.session().search_engine_hosts(i).empty()) {
      return Invalid(absl::StrCat("session.search_engine_hosts[", i, "]"),
                     "is empty");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Policy> internal::PolicyInternal::FromProto(
    const proto::Policy& message) {
  auto copy = std::make_shared<proto::Policy>(message);
  DropIgnoredUnknownFields(*copy);
  if (absl::Status s = ValidatePolicy(*copy); !s.ok()) return s;
  return Policy(std::move(copy));
}

namespace {

// Parse only; validation follows in the callers. Each error is the whole
// message a caller reports.
absl::Status ParseBinary(std::string_view bytes, proto::Policy& message) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return NotBinary(bytes.size());
  }
  if (absl::Status s = CheckWireStrings(*proto::Policy::descriptor(), bytes,
                                        "", bytes.size());
      !s.ok()) {
    return s;
  }
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return NotBinary(bytes.size());
  }
  DropIgnoredUnknownFields(message);
  return absl::OkStatus();
}

absl::Status ParseText(std::string_view text, proto::Policy& message) {
  google::protobuf::TextFormat::Parser parser;
  TextErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &message)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid policy text: ", errors.first()));
  }
  DropIgnoredUnknownFields(message);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Policy> Policy::FromBytes(std::string_view bytes) {
  auto message = std::make_shared<proto::Policy>();
  if (absl::Status s = ParseBinary(bytes, *message); !s.ok()) return s;
  if (absl::Status s = ValidatePolicy(*message); !s.ok()) return s;
  return Policy(std::move(message));
}

absl::StatusOr<Policy> Policy::FromText(std::string_view text) {
  auto message = std::make_shared<proto::Policy>();
  if (absl::Status s = ParseText(text, *message); !s.ok()) return s;
  if (absl::Status s = ValidatePolicy(*message); !s.ok()) return s;
  return Policy(std::move(message));
}

absl::StatusOr<Policy> Policy::FromJson(std::string_view json) {
  auto message = std::make_shared<proto::Policy>();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      std::string(json), message.get(), options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid policy JSON: ", status.message().ToString()));
  }
  if (absl::Status s = ValidatePolicy(*message); !s.ok()) return s;
  return Policy(std::move(message));
}

absl::StatusOr<Policy> Policy::FromFile(const std::string& path) {
  absl::StatusOr<std::string> read = internal::ReadFile(path);
  if (!read.ok()) return read.status();
  auto with_path = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  };
  const bool texty = absl::EndsWith(path, ".txtpb") ||
                     absl::EndsWith(path, ".textproto") ||
                     absl::EndsWith(path, ".pbtxt");
  auto message = std::make_shared<proto::Policy>();
  if (texty) {
    if (absl::Status s = ParseText(*read, *message); !s.ok()) {
      return with_path(s);
    }
  } else if (!ParseBinary(*read, *message).ok()) {
    // Maybe text format without the usual extension.
    message->Clear();
    if (absl::Status s = ParseText(*read, *message); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": neither a binary policy nor policy text (as text: ",
          s.message(), ")"));
    }
  }
  if (absl::Status s = ValidatePolicy(*message); !s.ok()) return with_path(s);
  return Policy(std::move(message));
}

// Deterministic: maps (provenance options, validation metrics) are written
// in key order, so the same policy always gives the same bytes.
std::string Policy::ToBytes() const {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message_->SerializeToCodedStream(&coded);
  }
  return out;
}

std::string Policy::ToText() const {
  std::string out;
  google::protobuf::TextFormat::PrintToString(*message_, &out);
  return out;
}

absl::StatusOr<std::string> Policy::ToJson() const {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  auto status =
      google::protobuf::util::MessageToJsonString(*message_, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print JSON: ", status.ToString()));
  }
  return json;
}

absl::Status Policy::ToFile(const std::string& path) const {
  return internal::WriteFileAtomically(path, ToBytes());
}

const std::string& Policy::name() const { return message_->name(); }

}  // namespace beckon
