#include "snapshot_codec.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "crc32c.h"

namespace beckon::internal {
namespace {

constexpr size_t kPreambleBytes = sizeof(kSnapshotMagic) + 4;
constexpr size_t kChunkHeadBytes = 8;
constexpr size_t kEndPayloadBytes = 8 + 8 + 4;

void PutU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  }
  return v;
}

absl::Status Damaged(std::string_view what) {
  return absl::DataLossError(
      absl::StrCat("invalid snapshot: ", std::string(what)));
}

// Reads exactly `n` bytes, or fewer only at the end of the source.
absl::StatusOr<size_t> ReadFully(ByteSource& source, char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    absl::StatusOr<size_t> r = source.Read(out + got, n - got);
    if (!r.ok()) return r.status();
    if (*r == 0) break;
    got += *r;
  }
  return got;
}

}  // namespace

absl::StatusOr<size_t> StringSource::Read(char* out, size_t n) {
  const size_t k = std::min(n, rest_.size());
  std::memcpy(out, rest_.data(), k);
  rest_.remove_prefix(k);
  return k;
}

bool HasSnapshotMagic(std::string_view prefix) {
  return prefix.size() >= sizeof(kSnapshotMagic) &&
         std::memcmp(prefix.data(), kSnapshotMagic, sizeof(kSnapshotMagic)) ==
             0;
}

// --- Writing ------------------------------------------------------------------

absl::Status SnapshotWriter::WriteChunk(SnapshotChunk type,
                                        std::string_view payload) {
  if (payload.size() > kSnapshotMaxChunkBytes) {
    return absl::InternalError(absl::StrCat(
        "snapshot chunk of ", payload.size(), " bytes exceeds the limit"));
  }
  char head[kChunkHeadBytes] = {static_cast<char>(type), 0, 0, 0};
  PutU32(head + 4, static_cast<uint32_t>(payload.size()));
  uint32_t crc = Crc32cExtend(0, head, sizeof(head));
  crc = Crc32cExtend(crc, payload.data(), payload.size());
  char tail[4];
  PutU32(tail, crc);
  for (std::string_view part :
       {std::string_view(head, sizeof(head)), payload,
        std::string_view(tail, sizeof(tail))}) {
    file_crc_ = Crc32cExtend(file_crc_, part.data(), part.size());
    if (absl::Status s = sink_(part); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status SnapshotWriter::Begin(const SnapshotHeader& header) {
  char pre[kPreambleBytes];
  std::memcpy(pre, kSnapshotMagic, sizeof(kSnapshotMagic));
  PutU32(pre + sizeof(kSnapshotMagic), kSnapshotFormatVersion);
  file_crc_ = Crc32cExtend(0, pre, sizeof(pre));
  if (absl::Status s = sink_(std::string_view(pre, sizeof(pre))); !s.ok()) {
    return status_ = s;
  }
  proto::Snapshot h;
  h.set_format_version(kSnapshotFormatVersion);
  h.set_key_fingerprint(header.key_fingerprint);
  for (const std::string& g : header.groups) h.add_groups(g);
  h.set_free_agents(header.free_agents);
  h.set_agents_ts_ms(header.agents_ts_ms);
  if (!h.SerializeToString(&chunk_)) {
    return status_ = absl::InternalError("cannot encode the snapshot header");
  }
  return status_ = WriteChunk(SnapshotChunk::kHeader, chunk_);
}

absl::Status SnapshotWriter::Flush() {
  if (!status_.ok()) return status_;
  const bool sessions = batch_.sessions_size() > 0;
  if (!sessions && batch_.memory_size() == 0) return absl::OkStatus();
  // Never more than kSnapshotRecordsPerChunk records: far below protobuf's
  // 2 GiB, and a failure is an error, never an empty chunk.
  if (!batch_.SerializeToString(&chunk_)) {
    return status_ = absl::InternalError("cannot encode snapshot records");
  }
  status_ = WriteChunk(sessions ? SnapshotChunk::kSessions
                                : SnapshotChunk::kMemory,
                       chunk_);
  batch_.Clear();
  return status_;
}

proto::SessionRecord* SnapshotWriter::AddSession() {
  if (batch_.memory_size() > 0 ||
      batch_.sessions_size() >= static_cast<int>(kSnapshotRecordsPerChunk)) {
    Flush().IgnoreError();  // Kept in status_, returned by Finish.
  }
  ++sessions_;
  return batch_.add_sessions();
}

proto::MemoryRecord* SnapshotWriter::AddMemory() {
  if (batch_.sessions_size() > 0 ||
      batch_.memory_size() >= static_cast<int>(kSnapshotRecordsPerChunk)) {
    Flush().IgnoreError();  // Kept in status_, returned by Finish.
  }
  ++memory_;
  return batch_.add_memory();
}

absl::Status SnapshotWriter::Finish() {
  if (absl::Status s = Flush(); !s.ok()) return s;
  char end[kEndPayloadBytes];
  PutU64(end, sessions_);
  PutU64(end + 8, memory_);
  PutU32(end + 16, file_crc_);  // Of every byte before the end chunk.
  return status_ = WriteChunk(SnapshotChunk::kEnd,
                              std::string_view(end, sizeof(end)));
}

// --- Reading ------------------------------------------------------------------

absl::Status ReadSnapshot(ByteSource& source, const SnapshotVisitor& visitor) {
  char pre[kPreambleBytes];
  absl::StatusOr<size_t> got = ReadFully(source, pre, sizeof(pre));
  if (!got.ok()) return got.status();
  if (*got < sizeof(pre) || !HasSnapshotMagic(std::string_view(pre, *got))) {
    return Damaged("not a beckon snapshot (no snapshot header)");
  }
  const uint32_t version = GetU32(pre + sizeof(kSnapshotMagic));
  if (version != kSnapshotFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "invalid snapshot: format_version ", version,
        "; this engine reads 1 and ", kSnapshotFormatVersion));
  }
  uint32_t file_crc = Crc32cExtend(0, pre, sizeof(pre));
  uint64_t offset = sizeof(pre);
  uint64_t sessions = 0, memory = 0, chunks = 0;
  bool have_header = false;
  std::string payload;
  proto::Snapshot msg;
  while (true) {
    char head[kChunkHeadBytes];
    got = ReadFully(source, head, sizeof(head));
    if (!got.ok()) return got.status();
    if (*got < sizeof(head)) {
      return Damaged(absl::StrCat("truncated at byte ", offset + *got,
                                  ": it ends before its end record"));
    }
    const uint8_t type = static_cast<uint8_t>(head[0]);
    const uint32_t length = GetU32(head + 4);
    if (head[1] != 0 || head[2] != 0 || head[3] != 0 || type < 1 ||
        type > 4 || length > kSnapshotMaxChunkBytes) {
      return Damaged(absl::StrCat("bad chunk header at byte ", offset));
    }
    payload.resize(length);
    got = ReadFully(source, payload.data(), length);
    if (!got.ok()) return got.status();
    char tail[4];
    absl::StatusOr<size_t> got_tail =
        *got == length ? ReadFully(source, tail, sizeof(tail))
                       : absl::StatusOr<size_t>(0);
    if (!got_tail.ok()) return got_tail.status();
    if (*got < length || *got_tail < sizeof(tail)) {
      return Damaged(absl::StrCat("truncated in the chunk at byte ", offset));
    }
    uint32_t crc = Crc32cExtend(0, head, sizeof(head));
    crc = Crc32cExtend(crc, payload.data(), payload.size());
    if (crc != GetU32(tail)) {
      return Damaged(
          absl::StrCat("checksum mismatch in the chunk at byte ", offset));
    }
    const auto kind = static_cast<SnapshotChunk>(type);
    if ((kind == SnapshotChunk::kHeader) == have_header) {
      return Damaged(absl::StrCat(
          have_header ? "a second header" : "records before the header",
          " at byte ", offset));
    }
    if (kind == SnapshotChunk::kEnd) {
      if (length != kEndPayloadBytes) {
        return Damaged(absl::StrCat("bad end record at byte ", offset));
      }
      if (GetU64(payload.data()) != sessions ||
          GetU64(payload.data() + 8) != memory ||
          GetU32(payload.data() + 16) != file_crc) {
        return Damaged(absl::StrCat(
            "the end record does not match what precedes it (", sessions,
            " sessions and ", memory, " memory records read, ",
            GetU64(payload.data()), " and ", GetU64(payload.data() + 8),
            " written): chunks are missing or out of place"));
      }
      char extra;
      got = ReadFully(source, &extra, 1);
      if (!got.ok()) return got.status();
      if (*got != 0) {
        return Damaged(absl::StrCat("bytes after the end record, at byte ",
                                    offset + sizeof(head) + length + 4));
      }
      return absl::OkStatus();
    }
    if (!msg.ParseFromString(payload)) {
      return Damaged(absl::StrCat("chunk ", chunks, " at byte ", offset,
                                  " does not decode"));
    }
    if (kind == SnapshotChunk::kHeader) {
      if (msg.sessions_size() > 0 || msg.memory_size() > 0 ||
          msg.format_version() != kSnapshotFormatVersion) {
        return Damaged("bad header");
      }
      SnapshotHeader h;
      h.key_fingerprint = msg.key_fingerprint();
      h.groups.assign(msg.groups().begin(), msg.groups().end());
      h.free_agents = msg.free_agents();
      h.agents_ts_ms = msg.agents_ts_ms();
      have_header = true;
      if (absl::Status s = visitor.header(h); !s.ok()) return s;
    } else {
      const bool want_sessions = kind == SnapshotChunk::kSessions;
      if (msg.groups_size() > 0 || msg.format_version() != 0 ||
          msg.key_fingerprint() != 0 ||
          (want_sessions ? msg.memory_size() : msg.sessions_size()) > 0) {
        return Damaged(absl::StrCat("chunk ", chunks, " at byte ", offset,
                                    " holds what it should not"));
      }
      for (const proto::SessionRecord& r : msg.sessions()) {
        if (absl::Status s = visitor.session(r, sessions++); !s.ok()) return s;
      }
      for (const proto::MemoryRecord& r : msg.memory()) {
        if (absl::Status s = visitor.memory(r, memory++); !s.ok()) return s;
      }
    }
    for (std::string_view part :
         {std::string_view(head, sizeof(head)), std::string_view(payload),
          std::string_view(tail, sizeof(tail))}) {
      file_crc = Crc32cExtend(file_crc, part.data(), part.size());
    }
    offset += sizeof(head) + length + sizeof(tail);
    ++chunks;
  }
}

absl::StatusOr<proto::Snapshot> DecodeSnapshotMessage(std::string_view bytes) {
  proto::Snapshot out;
  StringSource source(bytes);
  SnapshotVisitor v;
  v.header = [&](const SnapshotHeader& h) {
    out.set_format_version(kSnapshotFormatVersion);
    out.set_key_fingerprint(h.key_fingerprint);
    for (const std::string& g : h.groups) out.add_groups(g);
    out.set_free_agents(h.free_agents);
    out.set_agents_ts_ms(h.agents_ts_ms);
    return absl::OkStatus();
  };
  v.session = [&](const proto::SessionRecord& r, uint64_t) {
    *out.add_sessions() = r;
    return absl::OkStatus();
  };
  v.memory = [&](const proto::MemoryRecord& r, uint64_t) {
    *out.add_memory() = r;
    return absl::OkStatus();
  };
  if (absl::Status s = ReadSnapshot(source, v); !s.ok()) return s;
  return out;
}

}  // namespace beckon::internal
