#include "symfix.h"

#include <dlfcn.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace memscope::test {

TempDir::TempDir() {
  char dir[] = "/tmp/memscope-symfix-XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  path = dir;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

LoadedFixture::LoadedFixture(const std::string& source, const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::filesystem::copy_file(source, path, std::filesystem::copy_options::overwrite_existing);
  handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw std::runtime_error(std::string("dlopen: ") + dlerror());
}

LoadedFixture::~LoadedFixture() {
  if (handle) dlclose(handle);
}

namespace {
using Fn = uint64_t (*)(uint64_t);
Fn function(void* handle, const char* name) {
  void* f = dlsym(handle, name);
  if (!f) throw std::runtime_error(std::string("dlsym ") + name);
  return reinterpret_cast<Fn>(f);
}
}  // namespace

uint64_t LoadedFixture::inlined_return_address() const { return function(handle, "fixture_outer")(0); }
uint64_t LoadedFixture::hidden_return_address() const { return function(handle, "fixture_call_hidden")(0); }
uint64_t LoadedFixture::short_symbol() const { return reinterpret_cast<uint64_t>(dlsym(handle, "fixture_short")); }

uint64_t LoadedFixture::sizeless_symbol() const {
  return reinterpret_cast<uint64_t>(dlsym(handle, "fixture_sizeless"));
}

uint64_t LoadedFixture::base() const {
  Dl_info info;
  if (!dladdr(dlsym(handle, "fixture_outer"), &info)) throw std::runtime_error("dladdr");
  return reinterpret_cast<uint64_t>(info.dli_fbase);
}

int marked_line(const std::string& mark) {
  std::ifstream in(SYMFIX_SOURCE);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find("MARK:" + mark) != std::string::npos) return n;
  throw std::runtime_error("no MARK:" + mark + " in " SYMFIX_SOURCE);
}

std::string build_id_of(const std::string& path) {
  elf_version(EV_CURRENT);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  Elf* elf = fd >= 0 ? elf_begin(fd, ELF_C_READ, nullptr) : nullptr;
  const void* bits = nullptr;
  const ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &bits) : -1;
  std::string hex;
  for (ssize_t i = 0; i < n; ++i) {
    char b[3];
    snprintf(b, sizeof b, "%02x", static_cast<const unsigned char*>(bits)[i]);
    hex += b;
  }
  if (elf) elf_end(elf);
  if (fd >= 0) close(fd);
  if (hex.empty()) throw std::runtime_error("no build id in " + path);
  return hex;
}

}  // namespace memscope::test
