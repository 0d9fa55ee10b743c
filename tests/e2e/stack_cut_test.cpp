// Stacks that cannot be unwound whole (bad_frames.c): an object with no CFI,
// one whose CFI is garbage, and a frame the kernel cannot read. The walk
// stops there; each site keeps the frames it has and says why it is cut, the
// report counts such stacks, and the program computes what it does untraced.
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using nlohmann::json;

namespace {

constexpr uint64_t kRounds = 200;  // bad_frames.c's ROUNDS

// Overwrites FILE's .eh_frame with garbage in place (its .eh_frame_hdr left
// pointing into it); false when there is none.
bool corrupt_eh_frame(const std::string& file) {
  elf_version(EV_CURRENT);
  const int fd = open(file.c_str(), O_RDWR);
  if (fd < 0) return false;
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  size_t names = 0;
  GElf_Off offset = 0;
  GElf_Xword size = 0;
  if (elf && elf_getshdrstrndx(elf, &names) == 0) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
      GElf_Shdr sh;
      const char* name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, names, sh.sh_name) : nullptr;
      if (name && strcmp(name, ".eh_frame") == 0) offset = sh.sh_offset, size = sh.sh_size;
    }
  }
  if (elf) elf_end(elf);
  const std::string garbage(size, '\xa5');
  const bool written =
      size && pwrite(fd, garbage.data(), size, static_cast<off_t>(offset)) == static_cast<ssize_t>(size);
  close(fd);
  return written;
}

std::string checksum_line(const std::string& err) {
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("checksum ", 0) == 0) return line;
  return {};
}

// The site whose innermost frame is `function`.
const json* site_of(const json& report, const std::string& function) {
  for (const auto& s : report["sites"])
    if (!s["frames"].empty() && s["frames"][0]["function"].is_string() &&
        s["frames"][0]["function"].get<std::string>().rfind(function, 0) == 0)
      return &s;
  return nullptr;
}

}  // namespace

TEST_CASE("stacks cut short: no CFI and corrupt CFI and an unreadable frame each say why", "[e2e][stacks]") {
  const std::string corrupt = temp_path("libcorrupt.so");
  std::filesystem::copy_file(BAD_FRAMES_CFI_LIB, corrupt);
  REQUIRE(corrupt_eh_frame(corrupt));
  const Result untraced = run({BAD_FRAMES_BIN, BAD_FRAMES_NOCFI_LIB, corrupt, "--now"});
  REQUIRE(untraced.exit_code == 0);
  const ProgramRun traced = trace_test_program({BAD_FRAMES_BIN, BAD_FRAMES_NOCFI_LIB, corrupt}, {"--sample-all"});
  unlink(corrupt.c_str());
  // The target is unharmed: it computed what it computes untraced.
  CHECK(!checksum_line(untraced.err).empty());
  CHECK(checksum_line(traced.program_err) == checksum_line(untraced.err));

  const json& r = traced.report;
  const std::map<std::string, std::set<std::string>> expected = {
      {"nocfi_alloc", {"no_cfi"}},
      // Garbage CFI: no rows could be built, or rows that lead nowhere.
      {"corrupt_alloc", {"no_cfi", "unknown_rule", "unreadable"}},
      {"unreadable_frame_alloc", {"unreadable"}},
  };
  for (const auto& [function, reasons] : expected) {
    INFO(function);
    const json* site = site_of(r, function);
    REQUIRE(site != nullptr);
    INFO(site->dump());
    // The frames it has are kept (the immediate caller is always right) ...
    CHECK((*site)["sampled"]["allocations"].get<uint64_t>() == kRounds);
    // ... and the cut is said, with its reason, and counted.
    CHECK((*site)["stack_truncated"] == true);
    const std::string reason = (*site).value("stack_truncated_reason", "");
    CHECK(reasons.count(reason) == 1);
    CHECK(r["sampling"]["stacks_truncated"].value(reason, 0) >= 1);
  }
  CHECK(r["exact"]["allocation_calls"].get<uint64_t>() >= 3 * kRounds);
}
