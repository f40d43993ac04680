// The trainer's options as the TrainSpec proto (lib/beckon/train_spec.proto)
// defines them once: defaults, ranges, choices and help. The CLI's flags,
// Python's keywords, TrainOptions' checks and the provenance record are
// read from here.
#ifndef BECKON_LIB_OFFLINE_TRAIN_SPEC_H_
#define BECKON_LIB_OFFLINE_TRAIN_SPEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "beckon/train.h"
#include "beckon/train_spec.pb.h"

namespace beckon::internal {

// One option, for --help and the docs.
struct TrainOptionInfo {
  std::string name;          // The field name: "target_offer_rate".
  std::string metavar;       // "R".
  std::string help;          // One line.
  std::string default_text;  // The default as text: "0.05".
  std::string range;         // "[0.0001, 0.9]", "auto | quantile | ...".
};

// Every TrainSpec field, in field order.
const std::vector<TrainOptionInfo>& TrainOptionInfos();

// The spec of `o`'s options (every field set).
proto::TrainSpec SpecOf(const TrainOptions& o);

// Sets the TrainOptions fields of `s` in `o` (the others, base, threads and
// the callbacks, are left as they are). Checks `s` first (CheckSpec); on an
// error `o` is unchanged.
absl::Status ApplySpec(const proto::TrainSpec& s, TrainOptions& o);

// OK, or an InvalidArgument error naming the first field out of its range
// or choices: "target_offer_rate must be in [0.0001, 0.9], got 2".
absl::Status CheckSpec(const proto::TrainSpec& s);

// Sets field `name` of `s` from its text (a number for number fields),
// checked against its range or choices. Unknown names and bad values are
// InvalidArgument errors naming them.
absl::Status SetSpecField(proto::TrainSpec& s, std::string_view name,
                          std::string_view text);

// What field `name` holds: a number, a whole number or text; kUnknown if
// TrainSpec has no such field.
enum class SpecKind { kNumber, kWholeNumber, kText, kUnknown };
SpecKind SpecKindOf(std::string_view name);

// Sets number field `name` of `s` to `v` exactly (a whole-number field
// takes a whole `v`), checked as SetSpecField checks text.
absl::Status SetSpecNumber(proto::TrainSpec& s, std::string_view name,
                           double v);

// The value of field `name` of `s` as text ("0.05", "auto").
std::string SpecFieldText(const proto::TrainSpec& s, std::string_view name);

}  // namespace beckon::internal

#endif  // BECKON_LIB_OFFLINE_TRAIN_SPEC_H_
