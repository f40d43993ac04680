#include "lib/offline/train_spec.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "lib/string_views.h"

namespace beckon::internal {
namespace {

using google::protobuf::FieldDescriptor;

// The TrainOptions member of each TrainSpec field: the one place the two
// are tied (TrainSpec.MirrorsTrainOptions holds them equal).
using Member = std::variant<double TrainOptions::*, uint64_t TrainOptions::*,
                            int TrainOptions::*, std::string TrainOptions::*>;

const std::vector<std::pair<std::string, Member>>& Members() {
  static const auto* members = new std::vector<std::pair<std::string, Member>>{
      {"validation_fraction", &TrainOptions::validation_fraction},
      {"validation_days", &TrainOptions::validation_days},
      {"min_group_views", &TrainOptions::min_group_views},
      {"max_groups", &TrainOptions::max_groups},
      {"split_groups", &TrainOptions::split_groups},
      {"min_split_z", &TrainOptions::min_split_z},
      {"merge_groups", &TrainOptions::merge_groups},
      {"help_rate_prior_views", &TrainOptions::help_rate_prior_views},
      {"dwell_rule", &TrainOptions::dwell_rule},
      {"dwell_quantile", &TrainOptions::dwell_quantile},
      {"early_offers", &TrainOptions::early_offers},
      {"min_dwell_contacts", &TrainOptions::min_dwell_contacts},
      {"min_dwell_threshold_s", &TrainOptions::min_dwell_threshold_s},
      {"max_dwell_threshold_s", &TrainOptions::max_dwell_threshold_s},
      {"max_path_length", &TrainOptions::max_path_length},
      {"min_path_support", &TrainOptions::min_path_support},
      {"min_path_lift", &TrainOptions::min_path_lift},
      {"max_path_rules", &TrainOptions::max_path_rules},
      {"l2", &TrainOptions::l2},
      {"target_offer_rate", &TrainOptions::target_offer_rate},
      {"offers_per_day", &TrainOptions::offers_per_day},
      {"offer_cap_headroom", &TrainOptions::offer_cap_headroom},
      {"max_offer_cap_cost", &TrainOptions::max_offer_cap_cost},
      {"scarce_agents", &TrainOptions::scarce_agents},
      {"labels", &TrainOptions::labels},
      {"min_offer_outcomes", &TrainOptions::min_offer_outcomes},
      {"name", &TrainOptions::name},
      {"min_validation_auc", &TrainOptions::min_validation_auc},
      {"min_help_sessions", &TrainOptions::min_help_sessions},
      {"min_validation_help_sessions",
       &TrainOptions::min_validation_help_sessions},
  };
  return *members;
}

const proto::OptionSpec& SpecOfField(const FieldDescriptor* f) {
  return f->options().GetExtension(proto::option);
}

bool IsNumber(const FieldDescriptor* f) {
  return f->cpp_type() != FieldDescriptor::CPPTYPE_STRING;
}

double NumberOf(const proto::TrainSpec& s, const FieldDescriptor* f) {
  const google::protobuf::Reflection* r = s.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return r->GetDouble(s, f);
    case FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(r->GetUInt64(s, f));
    case FieldDescriptor::CPPTYPE_INT32:
      return r->GetInt32(s, f);
    default:
      return 0;
  }
}

std::string RangeText(const FieldDescriptor* f) {
  const proto::OptionSpec& o = SpecOfField(f);
  if (IsNumber(f)) {
    std::string r = absl::StrCat("[", o.min(), ", ", o.max(), "]");
    return o.or_zero() ? absl::StrCat("0 or ", r) : r;
  }
  if (o.choices_size() == 0) return "any non-empty text";
  return absl::StrJoin(o.choices(), ", ");
}

// What a value must be, after "must be ": "in [a, b]", "0 or in [a, b]",
// "\"x\", \"y\" or \"z\"", "non-empty".
std::string Requirement(const FieldDescriptor* f) {
  const proto::OptionSpec& o = SpecOfField(f);
  if (IsNumber(f)) {
    return absl::StrCat(o.or_zero() ? "0 or " : "", "in [", o.min(), ", ",
                        o.max(), "]");
  }
  if (o.choices_size() == 0) return "non-empty";
  std::vector<std::string> q;
  for (const std::string& c : o.choices()) q.push_back("\"" + c + "\"");
  const std::string last = q.back();
  q.pop_back();
  return q.empty() ? last : absl::StrCat(absl::StrJoin(q, ", "), " or ", last);
}

absl::Status CheckField(const proto::TrainSpec& s, const FieldDescriptor* f) {
  const proto::OptionSpec& o = SpecOfField(f);
  if (IsNumber(f)) {
    const double v = NumberOf(s, f);
    const bool ok = std::isfinite(v) &&
                    ((v >= o.min() && v <= o.max()) || (o.or_zero() && v == 0));
    if (ok) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(f->name(), " must be ", Requirement(f), ", got ", v));
  }
  const std::string v = s.GetReflection()->GetString(s, f);
  bool ok = !v.empty();
  if (o.choices_size() > 0) {
    ok = false;
    for (const std::string& c : o.choices()) ok |= c == v;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      f->name(), " must be ", Requirement(f), ", got \"", v, "\""));
}

// Copies every TrainSpec field between `o` and `s`, through its TrainOptions
// member: into `s` (kToSpec: `o` may be const) or into `o` (`s` may be).
template <bool kToSpec, typename Options, typename Spec>
void CopyFields(Options& o, Spec& s) {
  const google::protobuf::Reflection* r = s.GetReflection();
  const google::protobuf::Descriptor* d = s.GetDescriptor();
  for (const auto& [name, member] : Members()) {
    const FieldDescriptor* f = d->FindFieldByName(name);
    std::visit(
        [&](auto m) {
          using T = std::decay_t<decltype(o.*m)>;
          if constexpr (kToSpec) {
            if constexpr (std::is_same_v<T, double>) {
              r->SetDouble(&s, f, o.*m);
            } else if constexpr (std::is_same_v<T, uint64_t>) {
              r->SetUInt64(&s, f, o.*m);
            } else if constexpr (std::is_same_v<T, int>) {
              r->SetInt32(&s, f, o.*m);
            } else {
              r->SetString(&s, f, o.*m);
            }
          } else {
            if constexpr (std::is_same_v<T, double>) {
              o.*m = r->GetDouble(s, f);
            } else if constexpr (std::is_same_v<T, uint64_t>) {
              o.*m = r->GetUInt64(s, f);
            } else if constexpr (std::is_same_v<T, int>) {
              o.*m = r->GetInt32(s, f);
            } else {
              o.*m = r->GetString(s, f);
            }
          }
        },
        member);
  }
}

}  // namespace

const std::vector<TrainOptionInfo>& TrainOptionInfos() {
  static const auto* infos = [] {
    auto* v = new std::vector<TrainOptionInfo>;
    const proto::TrainSpec defaults;
    const google::protobuf::Descriptor* d = proto::TrainSpec::descriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      const proto::OptionSpec& o = SpecOfField(f);
      v->push_back({f->name(), o.metavar(), o.help(),
                    SpecFieldText(defaults, f->name()), RangeText(f)});
    }
    return v;
  }();
  return *infos;
}

proto::TrainSpec SpecOf(const TrainOptions& o) {
  proto::TrainSpec s;
  CopyFields</*kToSpec=*/true>(o, s);
  return s;
}

absl::Status CheckSpec(const proto::TrainSpec& s) {
  const google::protobuf::Descriptor* d = s.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    if (absl::Status st = CheckField(s, d->field(i)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status ApplySpec(const proto::TrainSpec& s, TrainOptions& o) {
  if (absl::Status st = CheckSpec(s); !st.ok()) return st;
  CopyFields</*kToSpec=*/false>(o, s);
  return absl::OkStatus();
}

absl::Status SetSpecField(proto::TrainSpec& s, std::string_view name,
                          std::string_view text) {
  const FieldDescriptor* f =
      s.GetDescriptor()->FindFieldByName(std::string(name));
  if (f == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown trainer option \"", AbslView(name), "\""));
  }
  const google::protobuf::Reflection* r = s.GetReflection();
  const absl::string_view t = AbslView(text);
  proto::TrainSpec candidate = s;
  bool parsed = true;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      parsed = absl::SimpleAtod(t, &v) && std::isfinite(v);
      if (parsed) r->SetDouble(&candidate, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      parsed = absl::SimpleAtoi(t, &v);
      if (parsed) r->SetUInt64(&candidate, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      parsed = absl::SimpleAtoi(t, &v);
      if (parsed) r->SetInt32(&candidate, f, v);
      break;
    }
    default:
      r->SetString(&candidate, f, std::string(text));
  }
  if (!parsed) {
    return absl::InvalidArgumentError(absl::StrCat(
        f->name(), " must be ",
        f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE ? "a number "
                                                         : "a whole number ",
        Requirement(f), ", got \"", t, "\""));
  }
  if (absl::Status st = CheckField(candidate, f); !st.ok()) return st;
  s = std::move(candidate);
  return absl::OkStatus();
}

SpecKind SpecKindOf(std::string_view name) {
  const FieldDescriptor* f =
      proto::TrainSpec::descriptor()->FindFieldByName(std::string(name));
  if (f == nullptr) return SpecKind::kUnknown;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return SpecKind::kNumber;
    case FieldDescriptor::CPPTYPE_STRING:
      return SpecKind::kText;
    default:
      return SpecKind::kWholeNumber;
  }
}

absl::Status SetSpecNumber(proto::TrainSpec& s, std::string_view name,
                           double v) {
  const FieldDescriptor* f =
      s.GetDescriptor()->FindFieldByName(std::string(name));
  if (f == nullptr || !IsNumber(f)) {
    return absl::InvalidArgumentError(absl::StrCat(
        f == nullptr ? "unknown trainer option \"" : "not a number option \"",
        AbslView(name), "\""));
  }
  const google::protobuf::Reflection* r = s.GetReflection();
  proto::TrainSpec candidate = s;
  const bool whole = f->cpp_type() != FieldDescriptor::CPPTYPE_DOUBLE;
  // Whole numbers: exactly, within what the field holds (the range check
  // below then applies).
  if (!std::isfinite(v) ||
      (whole && (v != std::floor(v) || v < -2147483648.0 || v > 1e18))) {
    return absl::InvalidArgumentError(absl::StrCat(
        f->name(), " must be ", whole ? "a whole number " : "a number ",
        Requirement(f), ", got ", v));
  }
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
      r->SetDouble(&candidate, f, v);
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      if (v < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(f->name(), " must be ", Requirement(f), ", got ", v));
      }
      r->SetUInt64(&candidate, f, static_cast<uint64_t>(v));
      break;
    default:
      if (v > 2147483647.0) {
        return absl::InvalidArgumentError(
            absl::StrCat(f->name(), " must be ", Requirement(f), ", got ", v));
      }
      r->SetInt32(&candidate, f, static_cast<int32_t>(v));
  }
  if (absl::Status st = CheckField(candidate, f); !st.ok()) return st;
  s = std::move(candidate);
  return absl::OkStatus();
}

std::string SpecFieldText(const proto::TrainSpec& s, std::string_view name) {
  const FieldDescriptor* f =
      s.GetDescriptor()->FindFieldByName(std::string(name));
  if (f == nullptr) return "";
  const google::protobuf::Reflection* r = s.GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(r->GetDouble(s, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(r->GetUInt64(s, f));
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(r->GetInt32(s, f));
    default:
      return r->GetString(s, f);
  }
}

}  // namespace beckon::internal
