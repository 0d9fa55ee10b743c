// The symbolizer's fixture module (tests/fixtures/symbolize_fixture.c) as
// the tests use it: copies loaded from temporary directories, the lines its
// MARK comments are on, the build id its ELF note carries.
#pragma once
#include <cstdint>
#include <string>

namespace memscope::test {

// A fresh directory under /tmp, removed with everything in it.
struct TempDir {
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path;
};

// The fixture copied to `path`, dlopen'ed from there, and its functions.
struct LoadedFixture {
  explicit LoadedFixture(const std::string& source, const std::string& path);
  ~LoadedFixture();
  LoadedFixture(const LoadedFixture&) = delete;
  LoadedFixture& operator=(const LoadedFixture&) = delete;

  uint64_t inlined_return_address() const;  // inside fixture_inlined, inlined into fixture_outer
  uint64_t hidden_return_address() const;   // inside fixture_hidden, which .dynsym does not name
  uint64_t short_symbol() const;            // fixture_short, one byte long
  uint64_t sizeless_symbol() const;         // fixture_sizeless, of no size
  uint64_t base() const;                    // load address: file virtual address 0

  void* handle = nullptr;
};

// The line of symbolize_fixture.c whose comment says "MARK:<mark>".
int marked_line(const std::string& mark);
// The GNU build id of an ELF file, hex.
std::string build_id_of(const std::string& path);

}  // namespace memscope::test
