// Progress lines: drawn in place on a terminal once a step is slow, never
// where stderr is a file, and cleared when the step ends.
#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

#include "report/progress_line.h"

using namespace memscope;
using namespace std::chrono_literals;

namespace {

std::string contents(FILE* f) {
  fflush(f);
  std::string s(static_cast<size_t>(ftell(f)), '\0');
  rewind(f);
  s.resize(fread(s.data(), 1, s.size(), f));
  return s;
}

}  // namespace

TEST_CASE("progress: a slow step on a terminal shows its count, then clears the line") {
  FILE* f = tmpfile();
  {
    ProgressLine p("symbolizing sites", 4, f, true, 0ms);
    p.advance();
  }
  const std::string out = contents(f);
  CHECK(out.find("\r\x1b[Kmemscope-bpf: symbolizing sites 1/4 (25%)") != std::string::npos);
  CHECK(out.substr(out.size() - 4) == "\r\x1b[K");
  fclose(f);
}

TEST_CASE("progress: nothing where stderr is not a terminal, nor for a quick step") {
  FILE* f = tmpfile();
  {
    ProgressLine file("writing", 2, f, false, 0ms);
    file.advance(2);
    ProgressLine quick("writing", 2, f, true, 10s);
    quick.advance(2);
  }
  CHECK(contents(f).empty());
  fclose(f);
}
