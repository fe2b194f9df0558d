// tests/fuzz/replay_main.cpp — replays fuzz inputs without libFuzzer.
//
// Role: a main() that feeds every regular file of the given directories (or the given files)
// to LLVMFuzzerTestOneInput once, so the seed corpora and the regression inputs run as
// ordinary CTest tests with any compiler (and under the ASan/UBSan build of scripts/test).
// A finding aborts inside the harness (or in a sanitizer), which fails the test; the file
// name is printed first.
//
//   replay DIR_OR_FILE...                    every input must run cleanly
//   replay --expect-finding DIR_OR_FILE...   every input must still reproduce its (known,
//                                            reported) finding: each runs in a child process
//                                            that must die; a clean run means "fixed — remove
//                                            it from tests/fuzz/known_issues". Without
//                                            sanitizers UB cannot be seen: exits 77 (skipped).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  bool expect_finding = false;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg = argv[i];
    if (std::strcmp(argv[i], "--expect-finding") == 0) {
      expect_finding = true;
    } else if (fs::is_directory(arg)) {
      for (const auto& e : fs::recursive_directory_iterator(arg))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(arg)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: %s is neither a file nor a directory\n", argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  if (expect_finding && !kSanitized) {
    std::printf("replay: --expect-finding needs an ASan/UBSan build; skipped\n");
    return 77;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream s(f, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    if (!expect_finding) {
      LLVMFuzzerTestOneInput(data, bytes.size());
      continue;
    }
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
      LLVMFuzzerTestOneInput(data, bytes.size());
      std::fflush(nullptr);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      std::fprintf(stderr, "replay: %s no longer reproduces its finding: if the bug is fixed, remove its "
                           "name from tests/fuzz/known_issues\n", f.c_str());
      return 1;
    }
    std::fprintf(stderr, "replay: %s still reproduces its known finding\n", f.c_str());
  }
  std::printf("replay: %zu inputs ran as expected\n", files.size());
  return 0;
}
