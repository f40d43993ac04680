// Policy: the learned thresholds, model weights and business gates the engine
// decides by, as one immutable, validated value.
//
//   absl::StatusOr<beckon::Policy> policy = beckon::Policy::FromFile(path);
//   if (!policy.ok()) { /* policy.status().message() names the field */ }
//   beckon::Policy fallback = beckon::Policy::Default();
//
// A Policy is loaded from a binary protobuf file, from bytes, or from protobuf
// text format; every load validates and returns an error naming the offending
// field, and a failed load leaves nothing behind. The format is documented in
// docs/policy-format.md.
//
// Thread safety: a Policy is immutable; copies are cheap (they share one
// message) and may be used from any thread.
#ifndef BECKON_POLICY_H_
#define BECKON_POLICY_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace beckon {
namespace proto {
class Policy;  // Generated from lib/beckon/policy.proto; not installed.
}  // namespace proto
namespace internal {
class PolicyInternal;  // lib/policy_internal.h: beckon's own access.
}  // namespace internal

class Policy {
 public:
  // Returns the built-in default policy: hand-set, sensible values that let
  // the engine run with no training (docs/concepts.md lists them).
  static Policy Default();

  // Parses a binary protobuf policy and validates it. Rejects a string
  // field that is not UTF-8 (before protobuf's parser, which would log it)
  // and a field this engine does not know outside `provenance`, naming it
  // ("invalid policy: gates.13: unknown field number 13 ..."): it may be a
  // gate a newer beckon enforces. Unknown fields in `provenance` are
  // dropped, so the loaded policy always prints as text that loads back.
  static absl::StatusOr<Policy> FromBytes(std::string_view bytes);

  // Parses protobuf text format and validates it.
  static absl::StatusOr<Policy> FromText(std::string_view text);

  // Parses the protobuf JSON form (as ToJson writes it; field names as in
  // the .proto or in lowerCamelCase, enums by name or number) and validates
  // it. An unknown field is an error naming it.
  static absl::StatusOr<Policy> FromJson(std::string_view json);

  // Reads a file: binary protobuf, or text format if the file is not valid
  // binary (text policies are usually named *.txtpb).
  static absl::StatusOr<Policy> FromFile(const std::string& path);

  // Copies share the message. There is deliberately no move: a moved-from
  // Policy would hold nothing, so std::move copies (cheaply) instead.
  Policy(const Policy&) = default;
  Policy& operator=(const Policy&) = default;

  // Returns the binary protobuf encoding.
  std::string ToBytes() const;

  // Returns protobuf text format.
  std::string ToText() const;

  // Returns the protobuf JSON form (docs/policy-format.md): field names as
  // in the .proto, every field printed, enums by name, 64-bit integers as
  // strings. Fails only if protobuf cannot print the message.
  absl::StatusOr<std::string> ToJson() const;

  // Writes the binary encoding to `path` (replacing it atomically).
  absl::Status ToFile(const std::string& path) const;

  // Returns the policy's name (may be empty).
  const std::string& name() const;

 private:
  friend class internal::PolicyInternal;
  explicit Policy(std::shared_ptr<const proto::Policy> message)
      : message_(std::move(message)) {}
  std::shared_ptr<const proto::Policy> message_;
};

}  // namespace beckon

#endif  // BECKON_POLICY_H_
