// The trainer's option table (lib/beckon/train_spec.proto): TrainOptions
// mirrors it, and its ranges, choices and text forms are what the CLI,
// Python and the provenance use.
#include "lib/offline/train_spec.h"

#include <cmath>
#include <string>
#include <vector>

#include "beckon/policy.pb.h"
#include "beckon/simulate.h"
#include "beckon/train.h"
#include "gtest/gtest.h"
#include "lib/policy_internal.h"
#include "tests/simulated_log.h"

namespace beckon {
namespace {

using internal::TrainOptionInfos;

TEST(TrainSpec, MirrorsTrainOptionsFieldForFieldWithTheSameDefaults) {
  const proto::TrainSpec defaults;  // The proto's own defaults.
  const proto::TrainSpec of_struct = internal::SpecOf(TrainOptions{});
  const google::protobuf::Descriptor* d = proto::TrainSpec::descriptor();
  ASSERT_EQ(TrainOptionInfos().size(), static_cast<size_t>(d->field_count()));
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string name = d->field(i)->name();
    // SpecOf sets every field: each has a TrainOptions member.
    EXPECT_TRUE(of_struct.GetReflection()->HasField(of_struct, d->field(i)))
        << name << " has no TrainOptions member";
    EXPECT_EQ(internal::SpecFieldText(of_struct, name),
              internal::SpecFieldText(defaults, name))
        << name << ": the struct's default is not the proto's";
    const internal::TrainOptionInfo& info = TrainOptionInfos()[i];
    EXPECT_EQ(info.name, name);
    EXPECT_FALSE(info.help.empty()) << name;
    EXPECT_FALSE(info.metavar.empty()) << name;
    EXPECT_FALSE(info.range.empty()) << name;
  }
  EXPECT_TRUE(internal::CheckSpec(defaults).ok());
}

TEST(TrainSpec, SetApplyAndSpecOfRoundTripEveryField) {
  // A value other than the default for every field, set from text.
  const std::vector<std::pair<std::string, std::string>> values = {
      {"validation_fraction", "0.3"},
      {"validation_days", "2"},
      {"min_group_views", "70"},
      {"max_groups", "90"},
      {"split_groups", "yes"},
      {"min_split_z", "5.5"},
      {"merge_groups", "yes"},
      {"help_rate_prior_views", "10"},
      {"dwell_rule", "separation"},
      {"dwell_quantile", "0.45"},
      {"early_offers", "no"},
      {"min_dwell_contacts", "12"},
      {"min_dwell_threshold_s", "3"},
      {"max_dwell_threshold_s", "900"},
      {"max_path_length", "4"},
      {"min_path_support", "11"},
      {"min_path_lift", "1.5"},
      {"max_path_rules", "8"},
      {"l2", "2.5"},
      {"target_offer_rate", "0.1"},
      {"offers_per_day", "40"},
      {"offer_cap_headroom", "0"},
      {"max_offer_cap_cost", "0.1"},
      {"scarce_agents", "raise"},
      {"labels", "both"},
      {"min_offer_outcomes", "50"},
      {"name", "shop"},
      {"min_validation_auc", "0.7"},
      {"min_help_sessions", "5"},
      {"min_validation_help_sessions", "6"},
  };
  ASSERT_EQ(values.size(), TrainOptionInfos().size());
  proto::TrainSpec s;
  for (const auto& [name, text] : values) {
    ASSERT_TRUE(internal::SetSpecField(s, name, text).ok()) << name;
    EXPECT_NE(internal::SpecFieldText(s, name),
              internal::SpecFieldText(proto::TrainSpec(), name))
        << name << ": the test value is the default";
  }
  TrainOptions o;
  o.threads = 3;
  ASSERT_TRUE(internal::ApplySpec(s, o).ok());
  EXPECT_EQ(o.split_groups, "yes");
  EXPECT_EQ(o.max_groups, 90);
  EXPECT_EQ(o.min_group_views, 70u);
  EXPECT_EQ(o.offer_cap_headroom, 0);
  EXPECT_EQ(o.threads, 3);  // Not an option of the spec: left as it was.
  EXPECT_EQ(internal::SpecOf(o).SerializeAsString(), s.SerializeAsString());
}

TEST(TrainSpec, BadValuesAreNamedAndChangeNothing) {
  proto::TrainSpec s;
  ASSERT_TRUE(internal::SetSpecField(s, "l2", "2").ok());
  const std::string before = s.SerializeAsString();
  const std::vector<std::pair<std::pair<std::string, std::string>, std::string>>
      bad = {
          {{"no_such", "1"}, "unknown trainer option \"no_such\""},
          {{"l2", "abc"}, "l2 must be a number in [0, 1e+09], got \"abc\""},
          {{"l2", "nan"}, "l2 must be a number"},
          {{"l2", "-1"}, "l2 must be in [0, 1e+09], got -1"},
          {{"max_groups", "1.5"},
           "max_groups must be a whole number in [1, 10000], got \"1.5\""},
          {{"min_group_views", "-3"}, "min_group_views must be a whole number"},
          {{"offer_cap_headroom", "0.5"},
           "offer_cap_headroom must be 0 or in [1, 100], got 0.5"},
          {{"dwell_rule", "median"},
           "dwell_rule must be \"auto\", \"quantile\" or \"separation\", got "
           "\"median\""},
          {{"name", ""}, "name must be non-empty, got \"\""},
      };
  for (const auto& [field, message] : bad) {
    absl::Status st = internal::SetSpecField(s, field.first, field.second);
    ASSERT_FALSE(st.ok()) << field.first;
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(st.message()).find(message), std::string::npos)
        << st.message();
    EXPECT_EQ(s.SerializeAsString(), before) << field.first;
  }
  // ApplySpec refuses a spec out of range and leaves the options as they
  // were.
  proto::TrainSpec wild;
  wild.set_target_offer_rate(2);
  TrainOptions o;
  const absl::Status st = internal::ApplySpec(wild, o);
  EXPECT_NE(std::string(st.message()).find("target_offer_rate"),
            std::string::npos);
  EXPECT_EQ(o.target_offer_rate, TrainOptions{}.target_offer_rate);
}

TEST(TrainSpec, IsRecordedInTheProvenance) {
  SimulatorOptions so = SimulatorOptions::Default();
  so.days = 2;
  so.visitors_per_day = 1500;
  TrainOptions o;
  o.dwell_rule = "quantile";
  o.early_offers = "no";
  o.min_path_lift = 2.5;
  absl::StatusOr<TrainResult> r = Train(testing_util::Simulated(so), o);
  ASSERT_TRUE(r.ok()) << r.status();
  const proto::Provenance& prov =
      internal::PolicyInternal::Message(r->policy).provenance();
  EXPECT_EQ(prov.train_spec().SerializeAsString(),
            internal::SpecOf(o).SerializeAsString());
  // The text map has every option but the name (the policy's own).
  EXPECT_EQ(prov.options().size(), TrainOptionInfos().size());
  EXPECT_EQ(prov.options().at("min_path_lift"), "2.5");
  EXPECT_EQ(prov.options().at("min_offer_outcomes"), "100");
  EXPECT_EQ(prov.options().count("name"), 0u);
  EXPECT_EQ(prov.options().at("base"), "beckon-default");
}

}  // namespace
}  // namespace beckon
