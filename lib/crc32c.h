// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as in iSCSI, ext4
// and LevelDB: the snapshot file's integrity check. Software, slice-by-8.
#ifndef BECKON_LIB_CRC32C_H_
#define BECKON_LIB_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace beckon::internal {

// Extends `crc` (the CRC of the bytes before; 0 to start) over `data`.
// Crc32c("123456789") == 0xE3069283.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

inline uint32_t Crc32c(std::string_view data) {
  return Crc32cExtend(0, data.data(), data.size());
}

}  // namespace beckon::internal

#endif  // BECKON_LIB_CRC32C_H_
