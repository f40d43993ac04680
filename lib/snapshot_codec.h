// The snapshot file format: a checksummed stream of chunks.
//
//   file   := magic(8) version(u32 = 2) chunk* end
//   chunk  := type(u8) 0(u8 x 3) length(u32) payload[length] crc(u32)
//
// All integers little-endian. `crc` is the CRC-32C of the chunk's type,
// padding, length and payload. The first chunk is the header (type 1: a
// proto::Snapshot holding only the key fingerprint, groups and agents); then
// any number of record chunks (type 2: up to kSnapshotRecordsPerChunk
// sessions; type 3: as many memory records), each a proto::Snapshot holding
// only those records; then the end chunk (type 4), whose payload is the
// number of sessions (u64) and memory records (u64) written and the CRC-32C
// of every byte of the file before the end chunk (u32). Nothing may follow.
//
// So a reader detects a truncation at any byte (the end chunk is missing or
// short), any flipped bit (a chunk's CRC), chunks lost, repeated or
// reordered (the counts and the file CRC), and no chunk is ever larger than
// kSnapshotMaxChunkBytes: size is bounded by the disk, not by protobuf's
// 2 GiB limit on one message, and neither side holds more than one chunk's
// encoding at a time.
//
// Format version 1 (a single proto::Snapshot message, without a check) is
// still read by Engine::Restore, for snapshots saved before this format.
#ifndef BECKON_LIB_SNAPSHOT_CODEC_H_
#define BECKON_LIB_SNAPSHOT_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beckon/snapshot.pb.h"

namespace beckon::internal {

inline constexpr char kSnapshotMagic[8] = {'\x89', 'B', 'K', 'N',
                                           '\r',   '\n', '\x1a', '\n'};
inline constexpr uint32_t kSnapshotFormatVersion = 2;
inline constexpr size_t kSnapshotRecordsPerChunk = 1024;
// A chunk of 1024 records is ~100 KB; anything larger is damage.
inline constexpr uint32_t kSnapshotMaxChunkBytes = 4u << 20;

enum class SnapshotChunk : uint8_t {
  kHeader = 1,
  kSessions = 2,
  kMemory = 3,
  kEnd = 4,
};

// Receives the file's bytes, in order.
using ByteSink = std::function<absl::Status(std::string_view)>;

// Gives bytes; Read returns 0 only at the end.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual absl::StatusOr<size_t> Read(char* out, size_t n) = 0;
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string_view bytes) : rest_(bytes) {}
  absl::StatusOr<size_t> Read(char* out, size_t n) override;

 private:
  std::string_view rest_;
};

// True if `prefix` (the file's first bytes) starts with kSnapshotMagic.
bool HasSnapshotMagic(std::string_view prefix);

struct SnapshotHeader {
  uint64_t key_fingerprint = 0;
  std::vector<std::string> groups;  // "" is the unlisted group.
  int64_t free_agents = -1;
  int64_t agents_ts_ms = -1;
};

// Writes one snapshot to a sink: Begin, any number of Add, Finish.
class SnapshotWriter {
 public:
  explicit SnapshotWriter(ByteSink sink) : sink_(std::move(sink)) {}
  absl::Status Begin(const SnapshotHeader& header);
  proto::SessionRecord* AddSession();  // Flushed by the next call.
  proto::MemoryRecord* AddMemory();
  absl::Status Finish();

 private:
  absl::Status Flush();
  absl::Status WriteChunk(SnapshotChunk type, std::string_view payload);

  ByteSink sink_;
  absl::Status status_;
  proto::Snapshot batch_;  // Sessions or memory records, not both.
  uint64_t sessions_ = 0, memory_ = 0;
  uint32_t file_crc_ = 0;
  std::string chunk_;
};

// What ReadSnapshot calls, in file order. An error returned stops reading
// and is returned as is.
struct SnapshotVisitor {
  std::function<absl::Status(const SnapshotHeader&)> header;
  std::function<absl::Status(const proto::SessionRecord&, uint64_t index)>
      session;
  std::function<absl::Status(const proto::MemoryRecord&, uint64_t index)>
      memory;
};

// Reads a whole format-2 snapshot from `source`, checking everything above.
// Errors: DATA_LOSS for a damaged or truncated file (naming what and
// where), FAILED_PRECONDITION for another format version.
absl::Status ReadSnapshot(ByteSource& source, const SnapshotVisitor& visitor);

// The whole format-2 snapshot as one message (format_version 2; for tests
// and inspection of small snapshots). Errors as ReadSnapshot's.
absl::StatusOr<proto::Snapshot> DecodeSnapshotMessage(std::string_view bytes);

}  // namespace beckon::internal

#endif  // BECKON_LIB_SNAPSHOT_CODEC_H_
