// File helpers shared by tests that write files.
#ifndef BECKON_TESTS_FILE_TEST_UTIL_H_
#define BECKON_TESTS_FILE_TEST_UTIL_H_

#include <filesystem>
#include <string>

namespace beckon_test_files {

// Returns true if a temporary file of an atomic write to `path` (named
// "<file>.tmp...") was left beside it.
inline bool TempLeftBeside(const std::string& path) {
  const std::filesystem::path p(path);
  std::error_code ec;
  const std::string prefix = p.filename().string() + ".tmp";
  for (const auto& entry :
       std::filesystem::directory_iterator(p.parent_path(), ec)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace beckon_test_files

#endif  // BECKON_TESTS_FILE_TEST_UTIL_H_
