// beckon's own access to a Policy's message, kept out of the installed
// headers (whose users never see the generated proto type): the engine, the
// trainer, the bindings and white-box tests include this.
//
//   const proto::Policy& m = internal::PolicyInternal::Message(policy);
//   absl::StatusOr<Policy> p = internal::PolicyInternal::FromProto(m);
#ifndef BECKON_LIB_POLICY_INTERNAL_H_
#define BECKON_LIB_POLICY_INTERNAL_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/policy.h"
#include "beckon/policy.pb.h"

namespace beckon {

// Returns OK if `message` is a policy the engine can run (which includes:
// no unknown fields outside `provenance`), or an InvalidArgument error
// naming the first offending field
// ("invalid policy: groups[3].dwell_threshold_s: must be in (0, 86400]
// seconds, got -1").
absl::Status ValidatePolicy(const proto::Policy& message);

namespace internal {

class PolicyInternal {
 public:
  // The underlying message, shared by every copy of `policy`.
  static const proto::Policy& Message(const Policy& policy) {
    return *policy.message_;
  }

  // Validates a message and takes a copy of it (without the unknown fields
  // of its provenance; unknown fields elsewhere are rejected, as by
  // Policy::FromBytes). For the trainer and tools that build policies.
  static absl::StatusOr<Policy> FromProto(const proto::Policy& message);
};

}  // namespace internal
}  // namespace beckon

#endif  // BECKON_LIB_POLICY_INTERNAL_H_
