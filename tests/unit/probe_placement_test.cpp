// Probe placement: hand-written byte sequences with known answers, the
// kernel's emulation rules, and the real allocators on this machine (glibc,
// jemalloc, tcmalloc, mimalloc, libstdc++'s C++ operators), where every
// chosen site is re-verified by a second, independent checker built on
// objdump's disassembly.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "targets/api_names.h"
#include "targets/elf_file.h"
#include "targets/probe_placement.h"

using namespace memscope;

namespace {

Placement place(std::vector<uint8_t> code, unsigned arg_count, bool skip = false, uint64_t address = 0x1000) {
  PlacementInput in;
  in.code = code;
  in.address = address;
  in.arg_count = arg_count;
  in.skip_if_arg0_null = skip;
  Placement p = choose_probe_site(in);
  INFO("offset " << p.offset << " `" << p.instruction << "` delta " << p.stack_delta << ": " << p.reason);
  CHECK(!p.reason.empty());
  if (p.offset == 0 && !p.emulated) CHECK(p.reason.rfind("offset 0: ", 0) == 0);
  return p;
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Some instructions, by their bytes.
const std::vector<uint8_t> kPushRbp = {0x55};
const std::vector<uint8_t> kPushRbx = {0x53};
const std::vector<uint8_t> kPushR12 = {0x41, 0x54};
const std::vector<uint8_t> kEndbr64 = {0xf3, 0x0f, 0x1e, 0xfa};
const std::vector<uint8_t> kTestRdi = {0x48, 0x85, 0xff};        // test rdi, rdi
const std::vector<uint8_t> kCmpRdi0 = {0x48, 0x83, 0xff, 0x00};  // cmp rdi, 0
const std::vector<uint8_t> kJe8 = {0x74, 0x20};                  // je +0x20
const std::vector<uint8_t> kJe32 = {0x0f, 0x84, 0xbf, 0x00, 0x00, 0x00};
const std::vector<uint8_t> kJne8 = {0x75, 0x20};
const std::vector<uint8_t> kMovRdiRax = {0x48, 0x89, 0xc7};  // mov rdi, rax
const std::vector<uint8_t> kMovEaxEdi = {0x89, 0xf8};        // mov eax, edi
const std::vector<uint8_t> kMovRbxRdi = {0x48, 0x89, 0xfb};  // mov rbx, rdi
const std::vector<uint8_t> kXorEsiEsi = {0x31, 0xf6};
const std::vector<uint8_t> kMovRaxRip = {0x48, 0x8b, 0x05, 0x10, 0x20, 0x30, 0x00};  // mov rax, [rip+0x302010]
const std::vector<uint8_t> kSubRsp8 = {0x48, 0x83, 0xec, 0x08};
const std::vector<uint8_t> kRet = {0xc3};

}  // namespace

// --------------------------------------------------------------------------
// Hand-written sequences
// --------------------------------------------------------------------------

TEST_CASE("placement: an emulated entry instruction is the site", "[placement]") {
  auto p = place(cat({kPushRbp, kMovRbxRdi, kRet}), 1);
  CHECK(p.offset == 0);
  CHECK(p.emulated);
  CHECK(p.stack_delta == 0);
  CHECK(p.instruction == "push rbp");
  CHECK(p.reason == "entry instruction is emulated");

  // push r12 at 0 is emulated already: the later mov rbx, rdi does not matter.
  p = place(cat({kPushR12, kMovRbxRdi, kPushRbp}), 1);
  CHECK(p.offset == 0);
  CHECK(p.emulated);
  CHECK(p.instruction == "push r12");

  // jmp rel8 / rel32 and call rel32 at 0.
  CHECK(place({0xeb, 0x00, 0x55}, 1).offset == 0);
  CHECK(place({0xeb, 0x00, 0x55}, 1).emulated);
  CHECK(place({0xe9, 0x10, 0x00, 0x00, 0x00}, 1).emulated);
  CHECK(place({0xe8, 0x10, 0x00, 0x00, 0x00}, 1).emulated);
}

TEST_CASE("placement: endbr64 is single-stepped and skipped when +4 qualifies", "[placement]") {
  auto p = place(cat({kEndbr64, kPushRbp, kMovRbxRdi}), 1);
  CHECK(p.offset == 4);
  CHECK(p.emulated);
  CHECK(p.stack_delta == 0);
  CHECK(p.instruction == "push rbp");

  // endbr64; test rdi,rdi; je; push rbp (a CET build of free) with the NULL skip.
  p = place(cat({kEndbr64, kTestRdi, kJe8, kPushRbp}), 1, true);
  CHECK(p.offset == 9);
  CHECK(p.instruction == "push rbp");
}

TEST_CASE("placement: the arg0 NULL early return is walked past only for skip_if_arg0_null", "[placement]") {
  // test rdi,rdi; je L; push rbp  (glibc's free, rel8 and rel32 forms)
  auto p = place(cat({kTestRdi, kJe8, kPushRbp, kPushRbx}), 1, true);
  CHECK(p.offset == 5);
  CHECK(p.emulated);
  CHECK(p.stack_delta == 0);
  CHECK(p.instruction == "push rbp");
  CHECK_THAT(p.reason, Catch::Contains("NULL"));

  p = place(cat({kTestRdi, kJe32, kPushRbp, kPushRbx}), 1, true);
  CHECK(p.offset == 9);
  CHECK(p.instruction == "push rbp");

  p = place(cat({kCmpRdi0, kJe8, kPushRbp}), 1, true);
  CHECK(p.offset == 6);
  CHECK(p.instruction == "push rbp");

  // Without skip_if_arg0_null the je may not be walked past. It is, however,
  // itself emulated (the kernel emulates jcc) and every call reaches it before
  // branching, so it is the first qualifying site: +3, not offset 0.
  p = place(cat({kTestRdi, kJe8, kPushRbp}), 1, false);
  CHECK(p.offset == 3);
  CHECK(p.emulated);
  CHECK(p.instruction.rfind("je ", 0) == 0);
  CHECK(p.instruction == "je 0x1025");  // the target is computed from `address`

  // A jne after the test is not the NULL early return: it is the site itself.
  p = place(cat({kTestRdi, kJne8, kPushRbp}), 1, true);
  CHECK(p.offset == 3);
  CHECK(p.instruction.rfind("jne ", 0) == 0);

  // Past the je nothing qualifies (rdi is overwritten): the je itself is the site.
  p = place(cat({kTestRdi, kJe8, kMovRdiRax, kPushRbp}), 1, true);
  CHECK(p.offset == 3);
  CHECK(p.emulated);
  CHECK_THAT(p.reason, Catch::Contains("nothing after it qualifies"));

  // A test of rdi after rdi was written is no NULL check of the argument.
  p = place(cat({kMovRdiRax, kTestRdi, kJe8, kPushRbp}), 0, true);
  CHECK(p.offset == 6);
  CHECK(p.instruction.rfind("je ", 0) == 0);
}

TEST_CASE("placement: argument registers written before a site force offset 0", "[placement]") {
  auto p = place(cat({kMovRdiRax, kPushRbx}), 1);
  CHECK(p.offset == 0);
  CHECK(!p.emulated);
  CHECK(p.instruction == "mov rdi, rax");
  CHECK_THAT(p.reason, Catch::Contains("rdi"));

  // Reading rdi is fine.
  p = place(cat({kMovEaxEdi, kPushRbx}), 1);
  CHECK(p.offset == 2);
  CHECK(p.emulated);
  CHECK(p.instruction == "push rbx");

  // xor esi, esi writes rsi: argument 2.
  p = place(cat({kXorEsiEsi, kPushRbx}), 2);
  CHECK(p.offset == 0);
  CHECK_THAT(p.reason, Catch::Contains("rsi"));
  // ... which is free to use when only rdi matters.
  CHECK(place(cat({kXorEsiEsi, kPushRbx}), 1).offset == 2);

  // Implicit writes: mul rsi writes rdx (argument 3), cpuid writes ecx/edx,
  // rep movsb writes rdi/rsi/rcx (and memory), syscall rcx/r11.
  CHECK(place(cat({{0x48, 0xf7, 0xe6}, kPushRbx}), 3).offset == 0);
  CHECK(place(cat({{0x48, 0xf7, 0xe6}, kPushRbx}), 2).offset == 3);
  CHECK(place(cat({{0x0f, 0xa2}, kPushRbx}), 1).offset == 0);
  CHECK(place(cat({{0xf3, 0xa4}, kPushRbx}), 0).offset == 0);
  CHECK(place(cat({{0x0f, 0x05}, kPushRbx}), 0).offset == 0);
  // cqo writes rdx.
  CHECK(place(cat({{0x48, 0x99}, kPushRbx}), 3).offset == 0);
  // Sub-registers count: mov dil, 1 / mov r9w, ax.
  CHECK(place(cat({{0x40, 0xb7, 0x01}, kPushRbx}), 1).offset == 0);
  CHECK(place(cat({{0x66, 0x41, 0x89, 0xc1}, kPushRbx}), 6).offset == 0);
  CHECK(place(cat({{0x66, 0x41, 0x89, 0xc1}, kPushRbx}), 5).offset == 4);
}

TEST_CASE("placement: reads, pushes and sub rsp are walked past; memory writes are not", "[placement]") {
  // mov rax, [rip+x]; push rbp -> the push, no stack change before it.
  auto p = place(cat({kMovRaxRip, kPushRbp}), 1);
  CHECK(p.offset == 7);
  CHECK(p.stack_delta == 0);
  CHECK(p.instruction == "push rbp");

  // sub rsp, 8; push rbx -> the push, return address at [rsp+8].
  p = place(cat({kSubRsp8, kPushRbx}), 1);
  CHECK(p.offset == 4);
  CHECK(p.stack_delta == 8);
  CHECK(p.instruction == "push rbx");

  // push rbp with a REX 0x40 prefix is single-stepped (the kernel only takes
  // REX 0x41): walked past and counted.
  p = place(cat({{0x40, 0x55}, kSubRsp8, kPushRbx}), 1);
  CHECK(p.offset == 6);
  CHECK(p.stack_delta == 16);

  // A 16-bit push counts 2 bytes; an operand-size prefix on an earlier
  // instruction does not leak into a later push.
  p = place(cat({{0x66, 0x6a, 0x00}, kPushRbx}), 1);
  CHECK(p.offset == 3);
  CHECK(p.stack_delta == 2);
  p = place(cat({{0x66, 0x41, 0x89, 0xc1}, {0x40, 0x55}, kPushRbx}), 1);
  CHECK(p.offset == 6);
  CHECK(p.stack_delta == 8);

  // Memory writes stop the walk.
  CHECK(place(cat({{0x48, 0x89, 0x7c, 0x24, 0x08}, kPushRbx}), 1).offset == 0);  // mov [rsp+8], rdi
  CHECK(place(cat({{0x48, 0x01, 0x38}, kPushRbx}), 0).offset == 0);              // add [rax], rdi
  CHECK(place(cat({{0x87, 0x30}, kPushRbx}), 0).offset == 0);                    // xchg [rax], esi
  CHECK(place(cat({{0xf0, 0x48, 0x0f, 0xb1, 0x0e}, kPushRbx}), 0).offset == 0);  // lock cmpxchg
  // Untracked stack changes stop it too: and rsp, -16 / pop / lea rsp.
  CHECK(place(cat({{0x48, 0x83, 0xe4, 0xf0}, kPushRbx}), 0).offset == 0);
  CHECK(place(cat({{0x5d}, kPushRbx}), 0).offset == 0);
  CHECK(place(cat({{0x48, 0x8d, 0x64, 0x24, 0xf8}, kPushRbx}), 0).offset == 0);

  // Calls, returns and other branches before a site stop the walk unless they
  // are themselves the first emulated instruction.
  p = place(cat({kMovEaxEdi, {0xe8, 0, 0, 0, 0}, kPushRbx}), 1);
  CHECK(p.offset == 2);
  CHECK(p.instruction.rfind("call ", 0) == 0);
  CHECK(place(cat({kMovEaxEdi, {0xff, 0xd0}, kPushRbx}), 1).offset == 0);  // call rax: single-stepped
  CHECK(place(cat({kMovEaxEdi, kRet, kPushRbx}), 1).offset == 0);
}

TEST_CASE("placement: unknown bytes and the walk's limits give offset 0", "[placement]") {
  auto p = place({0x06, 0x55}, 1);  // invalid in 64-bit mode
  CHECK(p.offset == 0);
  CHECK(!p.emulated);
  CHECK(place({0xff, 0xff}, 1).offset == 0);
  CHECK(place({0x48}, 1).offset == 0);  // truncated
  CHECK(place({}, 1).offset == 0);
  CHECK(place(cat({{0x0f, 0x0b}, kPushRbx}), 0).offset == 0);  // ud2

  // 17 single-stepped movs before the push: past the 16-instruction limit.
  std::vector<uint8_t> code;
  for (int i = 0; i < 17; ++i) code.insert(code.end(), {0x48, 0x89, 0xd8});  // mov rax, rbx
  code.push_back(0x53);
  p = place(code, 1);
  CHECK(p.offset == 0);
  CHECK_THAT(p.reason, Catch::Contains("16 instructions"));
  // 15 of them: the push is the 16th instruction, at +45.
  code.erase(code.begin(), code.begin() + 6);
  CHECK(place(code, 1).offset == 45);

  // Seven 10-byte movabs: the push starts at +70, past 64 bytes.
  code.clear();
  for (int i = 0; i < 7; ++i) code.insert(code.end(), {0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8});
  code.push_back(0x53);
  p = place(code, 1);
  CHECK(p.offset == 0);
  CHECK_THAT(p.reason, Catch::Contains("64 bytes"));
}

// --------------------------------------------------------------------------
// The kernel's rules
// --------------------------------------------------------------------------

TEST_CASE("placement: what Linux 6.18 emulates, single-steps and refuses", "[placement]") {
  auto how = [](std::vector<uint8_t> b) { return uprobe_emulation(b); };
  using H = UprobeHandling;
  // push_setup_xol_ops: push reg, and push r8..r15 with exactly REX 0x41.
  for (uint8_t op = 0x50; op <= 0x57; ++op) {
    CHECK(how({op}) == H::Emulated);
    CHECK(how({0x41, op}) == H::Emulated);
    CHECK(how({0x48, op}) == H::SingleStepped);
    CHECK(how({0x40, op}) == H::SingleStepped);
    CHECK(how({0x66, op}) == H::SingleStepped);
  }
  CHECK(how({0x6a, 0x00}) == H::SingleStepped);              // push imm8
  CHECK(how({0xff, 0x35, 0, 0, 0, 0}) == H::SingleStepped);  // push [rip]
  // branch_setup_xol_ops: the kernel's x86_nops[1..8] byte for byte ...
  CHECK(how({0x90}) == H::Emulated);
  CHECK(how({0x66, 0x90}) == H::Emulated);
  CHECK(how({0x0f, 0x1f, 0x00}) == H::Emulated);
  CHECK(how({0x0f, 0x1f, 0x40, 0x00}) == H::Emulated);
  CHECK(how({0x0f, 0x1f, 0x44, 0x00, 0x00}) == H::Emulated);
  CHECK(how({0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00}) == H::Emulated);
  CHECK(how({0x0f, 0x1f, 0x80, 0, 0, 0, 0}) == H::Emulated);
  CHECK(how({0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}) == H::Emulated);
  // ... other nopl encodings are single-stepped in 6.18 ...
  CHECK(how({0x0f, 0x1f, 0x40, 0x08}) == H::SingleStepped);
  CHECK(how({0x66, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}) == H::SingleStepped);  // nopw 9
  CHECK(how({0x0f, 0x1f, 0xc0}) == H::SingleStepped);
  CHECK(how({0x48, 0x89, 0xc0}) == H::SingleStepped);  // mov rax, rax (a "nop" only from 6.19 on)
  // ... and 0x90 with any acceptable prefix ("prefix* + nop").
  CHECK(how({0xf3, 0x90}) == H::Emulated);  // pause
  CHECK(how({0x41, 0x90}) == H::Emulated);  // xchg eax, r8d: emulated as a nop by 6.18
  CHECK(how({0x66, 0x66, 0x90}) == H::Emulated);
  // jmp rel8/rel32, call rel32, jcc rel8/rel32; a 0x66 prefix is refused.
  CHECK(how({0xeb, 0x05}) == H::Emulated);
  CHECK(how({0xe9, 1, 0, 0, 0}) == H::Emulated);
  CHECK(how({0xe8, 1, 0, 0, 0}) == H::Emulated);
  for (uint8_t cc = 0; cc < 16; ++cc) {
    CHECK(how({static_cast<uint8_t>(0x70 + cc), 0x05}) == H::Emulated);
    CHECK(how({0x0f, static_cast<uint8_t>(0x80 + cc), 1, 0, 0, 0}) == H::Emulated);
  }
  CHECK(how({0xf2, 0xe9, 1, 0, 0, 0}) == H::Emulated);  // bnd jmp
  CHECK(how({0x66, 0xe8, 1, 0}) == H::Refused);
  CHECK(how({0x66, 0x74, 0x05}) == H::Refused);
  // Indirect branches and returns are single-stepped.
  CHECK(how({0xff, 0xe0}) == H::SingleStepped);  // jmp rax
  CHECK(how({0xff, 0xd0}) == H::SingleStepped);  // call rax
  CHECK(how({0xc3}) == H::SingleStepped);
  // Everything else the notes measured as single-stepped.
  CHECK(how({0xf3, 0x0f, 0x1e, 0xfa}) == H::SingleStepped);  // endbr64
  CHECK(how({0x48, 0x85, 0xff}) == H::SingleStepped);        // test
  CHECK(how({0x48, 0x89, 0xfb}) == H::SingleStepped);        // mov
  CHECK(how({0x48, 0x8d, 0x77, 0xf0}) == H::SingleStepped);  // lea
  CHECK(how({0x48, 0x83, 0xec, 0x18}) == H::SingleStepped);  // sub
  CHECK(how({0x31, 0xc0}) == H::SingleStepped);              // xor
  CHECK(how({0x5d}) == H::SingleStepped);                    // pop
  // is_prefix_bad (cs, ds, es, ss, lock) and the bad-opcode tables refuse.
  CHECK(how({0x3e, 0x74, 0x05}) == H::Refused);
  CHECK(how({0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}) == H::Refused);
  CHECK(how({0xf0, 0x48, 0x0f, 0xb1, 0x0e}) == H::Refused);
  CHECK(how({0xcc}) == H::Refused);
  CHECK(how({0x0f, 0x05}) == H::Refused);  // syscall
  CHECK(how({0x0f, 0x0b}) == H::Refused);  // ud2
  CHECK(how({}) == H::Refused);
}

// --------------------------------------------------------------------------
// Real allocators, with an independent checker
// --------------------------------------------------------------------------
namespace {

struct Entry {
  std::string symbol;
  unsigned args;
  bool skip;
};

// Every symbol the agent probes (the C++ operators' variants too), with the
// arguments it reads and whether a NULL first argument skips the call.
const std::vector<Entry> kEntries = [] {
  std::vector<Entry> out;
  for (unsigned api = 0; api < MS_API_COUNT; ++api)
    for (std::string_view s : api_symbols(api))
      out.push_back({std::string(s), api_argument_count(api), ms_api_frees(api) != 0});
  return out;
}();

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

struct ObjInsn {
  uint64_t addr = 0;
  std::vector<uint8_t> bytes;
  std::string mnemonic;
  std::string operands;
};

// objdump's own disassembly (libopcodes, not Capstone) of [addr, addr + len).
std::vector<ObjInsn> objdump(const std::string& path, uint64_t addr, uint64_t len) {
  char cmd[512];
  std::snprintf(cmd, sizeof cmd, "objdump -d -w -M intel --start-address=0x%llx --stop-address=0x%llx '%s' 2>/dev/null",
                static_cast<unsigned long long>(addr), static_cast<unsigned long long>(addr + len), path.c_str());
  std::vector<ObjInsn> out;
  std::istringstream text(run(cmd));
  static const std::regex line(R"(^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(\S+)\s*(.*)$)");
  std::string l;
  while (std::getline(text, l)) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    ObjInsn in;
    in.addr = std::stoull(m[1], nullptr, 16);
    std::istringstream hex(m[2]);
    std::string b;
    while (hex >> b) in.bytes.push_back(static_cast<uint8_t>(std::stoul(b, nullptr, 16)));
    in.mnemonic = m[3];
    in.operands = m[4];
    auto hash = in.operands.find(" #");
    if (hash != std::string::npos) in.operands.erase(hash);
    while (!in.operands.empty() && in.operands.back() == ' ') in.operands.pop_back();
    out.push_back(in);
  }
  return out;
}

// The checker's own statement of Linux 6.18's emulated forms (by bytes).
bool checker_emulated(const std::vector<uint8_t>& b) {
  static const std::vector<std::vector<uint8_t>> nops = {{0x90},
                                                         {0x66, 0x90},
                                                         {0x0f, 0x1f, 0x00},
                                                         {0x0f, 0x1f, 0x40, 0x00},
                                                         {0x0f, 0x1f, 0x44, 0x00, 0x00},
                                                         {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
                                                         {0x0f, 0x1f, 0x80, 0, 0, 0, 0},
                                                         {0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0}};
  for (const auto& n : nops)
    if (b == n) return true;
  if (b.size() == 1 && b[0] >= 0x50 && b[0] <= 0x57) return true;                  // push reg
  if (b.size() == 2 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57) return true;  // push r8..r15
  size_t i = 0;
  while (i < b.size() && (b[i] == 0xf2 || b[i] == 0xf3 || b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x67)) ++i;
  if (i < b.size() && (b[i] & 0xf0) == 0x40) ++i;
  if (i >= b.size()) return false;
  const uint8_t op = b[i];
  if (op == 0x90) return true;
  if (op == 0xeb || op == 0xe9 || op == 0xe8) return true;
  if (op >= 0x70 && op <= 0x7f) return true;
  return op == 0x0f && i + 1 < b.size() && b[i + 1] >= 0x80 && b[i + 1] <= 0x8f;
}

// The 64-bit register family a register name belongs to, for the registers
// the checker cares about.
std::string family(const std::string& reg) {
  static const std::map<std::string, std::string> fam = {
      {"rdi", "rdi"}, {"edi", "rdi"}, {"di", "rdi"},  {"dil", "rdi"}, {"rsi", "rsi"}, {"esi", "rsi"},
      {"si", "rsi"},  {"sil", "rsi"}, {"rdx", "rdx"}, {"edx", "rdx"}, {"dx", "rdx"},  {"dl", "rdx"},
      {"dh", "rdx"},  {"rcx", "rcx"}, {"ecx", "rcx"}, {"cx", "rcx"},  {"cl", "rcx"},  {"ch", "rcx"},
      {"r8", "r8"},   {"r8d", "r8"},  {"r8w", "r8"},  {"r8b", "r8"},  {"r9", "r9"},   {"r9d", "r9"},
      {"r9w", "r9"},  {"r9b", "r9"},  {"rsp", "rsp"}, {"esp", "rsp"}, {"sp", "rsp"},  {"spl", "rsp"},
  };
  auto it = fam.find(reg);
  return it == fam.end() ? reg : it->second;
}

// Re-verifies a placement from objdump's disassembly with the checker's own
// (stricter) rules: the site is an instruction boundary, the kernel emulates
// it, and every instruction before it is a flag-only compare, a register-only
// computation into a non-argument register, a push or sub rsp, endbr64/nop,
// or the je of an arg0 NULL check (with skip) -- and none of them was
// emulated itself (the site is the first emulated one, the NULL je aside).
void verify_independently(const std::string& path, uint64_t vaddr, const Entry& e, const Placement& p) {
  INFO(path << " " << e.symbol << " at 0x" << std::hex << vaddr << std::dec << ": +" << p.offset << " `"
            << p.instruction << "` delta " << p.stack_delta << ": " << p.reason);
  auto insns = objdump(path, vaddr, p.offset + 32);
  REQUIRE(!insns.empty());
  REQUIRE(insns[0].addr == vaddr);

  size_t k = 0;
  while (k < insns.size() && insns[k].addr < vaddr + p.offset) ++k;
  REQUIRE(k < insns.size());
  REQUIRE(insns[k].addr == vaddr + p.offset);  // an instruction boundary
  CHECK(p.emulated == checker_emulated(insns[k].bytes));
  if (p.offset == 0) return;  // offset 0 is always correct
  REQUIRE(p.emulated);

  static const std::set<std::string> compute = {"mov", "movzx", "movsx", "movsxd", "movabs", "lea", "add", "sub",
                                                "and", "or",    "xor",   "shr",    "shl",    "sar", "sal", "rol",
                                                "ror", "neg",   "not",   "inc",    "dec",    "imul"};
  static const std::vector<std::string> args = {"rdi", "rsi", "rdx", "rcx", "r8", "r9"};
  int32_t delta = 0;
  for (size_t i = 0; i < k; ++i) {
    const ObjInsn& in = insns[i];
    INFO("before the site: " << in.mnemonic << " " << in.operands);
    const std::string& m = in.mnemonic;
    const bool null_je = e.skip && (m == "je" || m == "jz") && i > 0 &&
                         ((insns[i - 1].mnemonic == "test" && insns[i - 1].operands == "rdi,rdi") ||
                          (insns[i - 1].mnemonic == "cmp" && insns[i - 1].operands == "rdi,0x0"));
    if (!null_je) CHECK(!checker_emulated(in.bytes));  // the site is the first emulated instruction
    if (null_je) continue;
    if (m == "endbr64" || m == "nop" || m == "test" || m == "cmp" || m == "bt") continue;
    if (m == "push") {
      delta += 8;
      continue;
    }
    const bool known = compute.count(m) || m.rfind("cmov", 0) == 0 || m.rfind("set", 0) == 0;
    CHECK(known);
    if (!known) continue;
    const std::string dest = in.operands.substr(0, in.operands.find(','));
    CHECK(dest.find('[') == std::string::npos);                          // no memory destination
    if (m == "imul") CHECK(in.operands.find(',') != std::string::npos);  // not the rdx:rax form
    const std::string fam = family(dest);
    if (fam == "rsp") {
      REQUIRE((m == "sub" || m == "add"));
      REQUIRE(dest == "rsp");
      const long imm = std::stol(in.operands.substr(in.operands.find(',') + 1), nullptr, 0);
      delta += m == "sub" ? imm : -imm;
      continue;
    }
    for (unsigned a = 0; a < e.args; ++a) CHECK(fam != args[a]);
  }
  CHECK(p.stack_delta == delta);
}

struct Expected {
  const char* symbol;
  uint64_t offset;
};

// Places every probed symbol `path` defines and checks each independently;
// `vaddrs` gets their addresses.
std::map<std::string, Placement> place_all(const std::string& path, std::map<std::string, uint64_t>& vaddrs) {
  std::map<std::string, Placement> out;
  REQUIRE(!run("objdump --version").empty());
  ElfInfo elf = read_elf(path);
  for (const Entry& e : kEntries) {
    const ElfSymbol* sym = elf.find_function(e.symbol, true);
    if (!sym) continue;
    auto off = elf.vaddr_to_offset(sym->value);
    REQUIRE(off);
    Placement p = choose_probe_site(path, *off, sym->value, e.args, e.skip);
    verify_independently(path, sym->value, e, p);
    vaddrs[e.symbol] = sym->value;
    out[e.symbol] = p;
  }
  return out;
}

// place_all, then the hand-verified offsets when the library is the build
// they were read from (recognised by its malloc and free addresses), else a
// warning.
std::map<std::string, Placement> check_library(const std::string& path, uint64_t known_malloc, uint64_t known_free,
                                               const std::vector<Expected>& expected) {
  if (!file_exists(path)) {
    WARN(path << " is not installed (tools/setup.sh installs it): skipped");
    return {};
  }
  std::map<std::string, uint64_t> vaddrs;
  std::map<std::string, Placement> out = place_all(path, vaddrs);
  REQUIRE(out.count("malloc"));
  REQUIRE(out.count("free"));
  if (vaddrs["malloc"] != known_malloc || vaddrs["free"] != known_free) {
    WARN(path << " is not the build whose offsets were checked by hand: only the properties were checked");
    return out;
  }
  for (const Expected& x : expected) {
    INFO(path << " " << x.symbol << ": " << out[x.symbol].instruction << " / " << out[x.symbol].reason);
    REQUIRE(out.count(x.symbol));
    CHECK(out[x.symbol].offset == x.offset);
  }
  return out;
}

}  // namespace

TEST_CASE("placement: glibc's entry points", "[placement]") {
  auto libc = check_library("/lib/x86_64-linux-gnu/libc.so.6", 0x98930, 0x98ef0,
                            {{"malloc", 0},
                             {"free", 9},
                             {"calloc", 0},
                             {"realloc", 0},
                             {"reallocarray", 0},
                             {"memalign", 7},
                             {"aligned_alloc", 7},
                             {"posix_memalign", 7},
                             {"valloc", 7},
                             {"pvalloc", 7}});
  if (libc.empty()) return;
  // Whatever the build: free's NULL check is walked past, its site is emulated.
  CHECK(libc["free"].offset != 0);
  CHECK(libc["free"].emulated);
  for (auto& [name, p] : libc) {
    INFO(name << ": +" << p.offset << " `" << p.instruction << "` delta " << p.stack_delta << ": " << p.reason);
    CHECK(p.offset < kPlacementMaxBytes);
    CHECK(p.stack_delta >= 0);
  }
  if (libc["free"].offset == 9) {
    CHECK(libc["free"].instruction == "push rbp");
    CHECK(libc["free"].stack_delta == 0);
    CHECK(libc["memalign"].instruction.rfind("je ", 0) == 0);
    CHECK(libc["posix_memalign"].instruction == "push r12");
    CHECK(libc["valloc"].instruction == "push rbx");
  }
}

TEST_CASE("placement: jemalloc's entry points", "[placement]") {
  auto je = check_library("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", 0x23910, 0x27c60,
                          {{"malloc", 7},
                           {"free", 48},
                           {"calloc", 0},
                           {"realloc", 0},
                           {"memalign", 0},
                           {"aligned_alloc", 0},
                           {"posix_memalign", 0},
                           {"valloc", 0}});
  if (je.empty()) return;
  for (auto& [name, p] : je) {
    INFO(name << ": +" << p.offset << " `" << p.instruction << "` delta " << p.stack_delta << ": " << p.reason);
    CHECK(p.emulated);  // each is a push at 0 or an emulated jcc after reads
  }
}

TEST_CASE("placement: tcmalloc's entry points", "[placement]") {
  const std::string path = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4";
  auto tc = check_library(path, 0x1ed40, 0x1d100,
                          {{"malloc", 10},
                           {"free", 10},
                           {"calloc", 0},
                           {"realloc", 0},
                           {"memalign", 10},
                           {"aligned_alloc", 10},
                           {"posix_memalign", 11},
                           {"valloc", 0},
                           {"pvalloc", 0}});
  if (tc.empty()) return;
  for (auto& [name, p] : tc) {
    INFO(name << ": +" << p.offset << " `" << p.instruction << "` delta " << p.stack_delta << ": " << p.reason);
    CHECK(p.emulated);
  }
  // malloc is an alias of tc_malloc: same address, same site.
  ElfInfo elf = read_elf(path);
  const ElfSymbol* m = elf.find_function("malloc", true);
  const ElfSymbol* t = elf.find_function("tc_malloc", true);
  REQUIRE(m);
  REQUIRE(t);
  CHECK(m->value == t->value);
}

TEST_CASE("placement: libstdc++'s operator new and delete", "[placement]") {
  // What the agent probes for C++ under glibc: every variant, each re-checked
  // independently.
  const std::string path = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
  if (!file_exists(path)) {
    WARN(path << " is not installed: skipped");
    return;
  }
  std::map<std::string, uint64_t> vaddrs;
  auto placed = place_all(path, vaddrs);
  CHECK(placed.size() == 20);  // 4 + 4 + 6 + 6 variants, and nothing of C's
  for (auto& [name, p] : placed) {
    INFO(name << ": +" << p.offset << " `" << p.instruction << "` delta " << p.stack_delta << ": " << p.reason);
    CHECK(name.rfind("_Z", 0) == 0);
    CHECK(p.emulated);  // endbr64 is not emulated, what follows it is
  }
}

TEST_CASE("placement: the ELF reader refuses what it cannot read", "[placement]") {
  CHECK_THROWS_AS(choose_probe_site("/nonexistent/libc.so.6", 0, 0, 1, false), Error);
  CHECK_THROWS_AS(choose_probe_site("/lib/x86_64-linux-gnu/libc.so.6", uint64_t{1} << 40, 0, 1, false), Error);
}

TEST_CASE("placement: mimalloc's entry points", "[placement]") {
  // malloc, calloc and realloc start with a RIP-relative load of the TLS
  // offset (stepped out of line) and then move the arguments: offset 0.
  // free walks past its NULL check; the aligned and array variants are a
  // lone `jmp mi_*@plt`, which the kernel emulates.
  auto mi = check_library("/usr/lib/x86_64-linux-gnu/libmimalloc.so.2", 0x10b70, 0x10ee0,
                          {{"malloc", 0},
                           {"free", 6},
                           {"calloc", 0},
                           {"realloc", 0},
                           {"reallocarray", 0},
                           {"memalign", 0},
                           {"aligned_alloc", 0},
                           {"posix_memalign", 0},
                           {"valloc", 0},
                           {"pvalloc", 0}});
  if (mi.empty()) return;
  CHECK(mi["free"].emulated);
  for (const char* name : {"reallocarray", "memalign", "aligned_alloc", "posix_memalign", "valloc", "pvalloc"}) {
    INFO(name << ": `" << mi[name].instruction << "`");
    CHECK(mi[name].instruction.rfind("jmp ", 0) == 0);
    CHECK(mi[name].emulated);
  }
  // mimalloc serves C's free and C++'s delete with one function.
  ElfInfo elf = read_elf("/usr/lib/x86_64-linux-gnu/libmimalloc.so.2");
  const ElfSymbol* f = elf.find_function("free", true);
  const ElfSymbol* d = elf.find_function("_ZdlPv", true);
  REQUIRE(f);
  REQUIRE(d);
  CHECK(f->value == d->value);
}
