// The normal-suite driver of a fuzz target: runs its LLVMFuzzerTestOneInput
// over every file of the directories (or files) given, so the seed corpus
// and every kept finding (tests/fuzz/regressions/<target>/) stay passing in
// builds without libFuzzer.
//
//   fuzz_replay_<target> DIR_OR_FILE...
//
// Each input runs in a child process whose stderr (fd 2) is a pipe: an input
// fails if the child crashes, aborts (a broken invariant) or writes anything
// to stderr (the library must never log; issue 12, item 9). Prints one line
// per failure with what the child wrote, and a summary; exits 1 on any
// failure or if no input was found.
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs one input in a child; returns what it wrote to stderr and sets `ok`.
std::string RunOne(const fs::path& path, bool& ok) {
  const std::string input = ReadAll(path);
  int fds[2];
  if (pipe(fds) != 0) {
    ok = false;
    return "pipe() failed";
  }
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    close(fds[1]);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                           input.size());
    std::fflush(nullptr);
    std::exit(0);  // exit, not _exit: LeakSanitizer checks at exit.
  }
  close(fds[1]);
  std::string err;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) err.append(buf, n);
  close(fds[0]);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) {
    ok = false;
    return "fork() or waitpid() failed";
  }
  ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && err.empty();
  if (WIFSIGNALED(status)) {
    err += "[killed by signal " + std::to_string(WTERMSIG(status)) + "]";
  } else if (WEXITSTATUS(status) != 0) {
    err += "[exit status " + std::to_string(WEXITSTATUS(status)) + "]";
  }
  return err;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      for (const auto& entry : fs::directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
    } else if (fs::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::printf("%s: no such file or directory (skipped)\n", argv[i]);
    }
  }
  std::sort(inputs.begin(), inputs.end());
  int failures = 0;
  for (const fs::path& path : inputs) {
    bool ok = false;
    const std::string err = RunOne(path, ok);
    if (!ok) {
      ++failures;
      std::printf("FAIL %s:%s\n%s\n", path.c_str(),
                  err.empty() ? "" : " (its stderr follows)", err.c_str());
    }
  }
  std::printf("fuzz replay %s: %zu inputs, %d failed\n",
              fs::path(argv[0]).filename().c_str(), inputs.size(), failures);
  if (inputs.empty()) {
    std::printf("no inputs: nothing was tested\n");
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
