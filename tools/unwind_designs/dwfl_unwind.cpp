// Design (b) of docs/unwinding.md with libdw's dwfl_frame API, the unwinder
// the issue names (Debian's perf unwinds with libunwind): reads a perf.data
// written by `perf record --call-graph dwarf,N -p PID` (one probe, one
// process), unwinds every sample from its copy of the registers and the
// stack, and prints its stacks as `perf script -F ip,sym,dso --no-inline`
// does (for check_stacks.py) and, on stderr, the CPU time per sample:
//   dwfl_unwind perf.data > stacks.txt
// One Dwfl for the process, kept across samples (as an agent would keep
// it; perf's libdw unwinder builds one per sample), with every executable
// mapping reported before the first sample. Times: the first pass over the
// samples (libdw reads each object's CFI on first use), a second pass
// (warm), and symbolizing the frames (dwfl_module_addrname, demangled,
// once per distinct pc).
// Only what the unwinder needs of the format is read: MMAP2 records and
// samples with REGS_USER and STACK_USER, x86-64.
#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <asm/perf_regs.h>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct Section {
  uint64_t offset, size;
};
struct FileHeader {  // perf.data's header, "PERFILE2" (tools/perf/util/header.h)
  uint64_t magic, size, attr_size;
  Section attrs, data, event_types;
};

struct Sample {
  uint32_t pid = 0, tid = 0;
  uint64_t regs[17] = {};  // DWARF numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip
  const uint8_t* stack = nullptr;
  uint64_t stack_size = 0;  // dyn_size: the bytes the kernel copied
};

struct Mapping {
  uint64_t start, pgoff;
  std::string path;
};

[[noreturn]] void die(const char* what) {
  fprintf(stderr, "dwfl_unwind: %s\n", what);
  exit(1);
}

template <typename T>
T take(const uint8_t*& p) {
  T v;
  memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

// One sample record's registers and stack, in the order of sample_type's bits
// (include/uapi/linux/perf_event.h, "PERF_RECORD_SAMPLE").
Sample parse_sample(const uint8_t* p, const perf_event_attr& attr) {
  const uint64_t t = attr.sample_type;
  if (t & (PERF_SAMPLE_READ | PERF_SAMPLE_BRANCH_STACK)) die("READ and BRANCH_STACK samples are not read");
  Sample s;
  if (t & PERF_SAMPLE_IDENTIFIER) p += 8;
  if (t & PERF_SAMPLE_IP) p += 8;
  if (t & PERF_SAMPLE_TID) {
    s.pid = take<uint32_t>(p);
    s.tid = take<uint32_t>(p);
  }
  for (uint64_t bit :
       {PERF_SAMPLE_TIME, PERF_SAMPLE_ADDR, PERF_SAMPLE_ID, PERF_SAMPLE_STREAM_ID, PERF_SAMPLE_CPU, PERF_SAMPLE_PERIOD})
    if (t & bit) p += 8;
  if (t & PERF_SAMPLE_CALLCHAIN) p += 8 * take<uint64_t>(p);
  if (t & PERF_SAMPLE_RAW) p += take<uint32_t>(p);
  if (!(t & PERF_SAMPLE_REGS_USER) || !(t & PERF_SAMPLE_STACK_USER)) die("not recorded with --call-graph dwarf");
  if (take<uint64_t>(p) != PERF_SAMPLE_REGS_ABI_64) die("not a 64-bit process");
  const uint64_t mask = attr.sample_regs_user;
  auto reg = [&](int perf_reg) -> uint64_t {
    if (!(mask & (1ULL << perf_reg))) return 0;
    uint64_t v;
    memcpy(&v, p + 8 * std::popcount(mask & ((1ULL << perf_reg) - 1)), 8);
    return v;
  };
  const int order[17] = {PERF_REG_X86_AX,  PERF_REG_X86_DX,  PERF_REG_X86_CX,  PERF_REG_X86_BX,  PERF_REG_X86_SI,
                         PERF_REG_X86_DI,  PERF_REG_X86_BP,  PERF_REG_X86_SP,  PERF_REG_X86_R8,  PERF_REG_X86_R9,
                         PERF_REG_X86_R10, PERF_REG_X86_R11, PERF_REG_X86_R12, PERF_REG_X86_R13, PERF_REG_X86_R14,
                         PERF_REG_X86_R15, PERF_REG_X86_IP};
  for (int i = 0; i < 17; ++i) s.regs[i] = reg(order[i]);
  p += 8 * std::popcount(mask);
  const uint64_t size = take<uint64_t>(p);
  s.stack = p;
  if (size) memcpy(&s.stack_size, p + size, 8);
  return s;
}

// The file's samples and executable mappings (perf synthesizes the mappings
// of a process it attaches to from /proc/PID/maps before any sample).
void read_records(const uint8_t* file, size_t len, std::vector<Sample>& samples, std::vector<Mapping>& maps) {
  FileHeader h;
  if (len < sizeof h) die("not a perf.data file");
  memcpy(&h, file, sizeof h);
  if (memcmp(&h.magic, "PERFILE2", 8) != 0) die("not a perf.data file (PERFILE2)");
  // The probe's event: the one whose samples carry the stack (perf adds a
  // "dummy" event of its own, without samples, for the mappings).
  perf_event_attr attr{};
  for (uint64_t a = 0; a + h.attr_size <= h.attrs.size && !(attr.sample_type & PERF_SAMPLE_STACK_USER);
       a += h.attr_size)
    memcpy(&attr, file + h.attrs.offset + a, std::min<size_t>(sizeof attr, h.attr_size - sizeof(Section)));
  for (uint64_t off = h.data.offset; off + sizeof(perf_event_header) <= h.data.offset + h.data.size;) {
    perf_event_header eh;
    memcpy(&eh, file + off, sizeof eh);
    if (eh.size == 0) die("a record of size 0");
    const uint8_t* p = file + off + sizeof eh;
    if (eh.type == PERF_RECORD_SAMPLE) {
      samples.push_back(parse_sample(p, attr));
    } else if (eh.type == PERF_RECORD_MMAP2) {
      p += 8;  // pid, tid
      Mapping m;
      m.start = take<uint64_t>(p);
      p += 8;  // len
      m.pgoff = take<uint64_t>(p);
      p += 24;  // maj, min, ino, ino_generation (or the build id)
      const uint32_t prot = take<uint32_t>(p);
      p += 4;  // flags
      m.path = reinterpret_cast<const char*>(p);
      if ((prot & PROT_EXEC) && m.path.starts_with("/")) maps.push_back(m);
    }
    off += eh.size;
  }
}

// --- libdw's view of one sample: its registers, and memory from its stack copy

struct Current {
  const Sample* sample = nullptr;
};

pid_t next_thread(Dwfl*, void* arg, void** thread_arg) {
  if (*thread_arg) return 0;
  *thread_arg = arg;
  return static_cast<Current*>(arg)->sample->tid;
}

bool memory_read(Dwfl*, Dwarf_Addr addr, Dwarf_Word* result, void* arg) {
  const Sample& s = *static_cast<Current*>(arg)->sample;
  const uint64_t sp = s.regs[7];
  if (addr < sp || addr + 8 > sp + s.stack_size) return false;  // beyond the copy: the walk ends
  memcpy(result, s.stack + (addr - sp), 8);
  return true;
}

bool set_initial_registers(Dwfl_Thread* thread, void* arg) {
  const Sample& s = *static_cast<Current*>(arg)->sample;
  return dwfl_thread_state_registers(thread, 0, 17, reinterpret_cast<const Dwarf_Word*>(s.regs));
}

const Dwfl_Thread_Callbacks kThreadCallbacks = {next_thread,           nullptr, memory_read,
                                                set_initial_registers, nullptr, nullptr};
char* debuginfo_path = nullptr;
const Dwfl_Callbacks kCallbacks = {dwfl_build_id_find_elf, dwfl_standard_find_debuginfo, dwfl_offline_section_address,
                                   &debuginfo_path};

int on_frame(Dwfl_Frame* frame, void* arg) {
  auto& pcs = *static_cast<std::vector<uint64_t>*>(arg);
  Dwarf_Addr pc;
  bool activation;
  if (!dwfl_frame_pc(frame, &pc, &activation)) return DWARF_CB_ABORT;
  pcs.push_back(activation ? pc : pc - 1);  // a return address names the call before it
  return pcs.size() < 128 ? DWARF_CB_OK : DWARF_CB_ABORT;
}

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

std::vector<std::vector<uint64_t>> unwind_all(Dwfl* dwfl, Current& cur, const std::vector<Sample>& samples) {
  std::vector<std::vector<uint64_t>> stacks(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    cur.sample = &samples[i];
    dwfl_getthread_frames(dwfl, samples[i].tid, on_frame, &stacks[i]);  // -1 where the walk stopped early
  }
  return stacks;
}

std::string function_at(Dwfl* dwfl, uint64_t pc, const char** module) {
  Dwfl_Module* m = dwfl_addrmodule(dwfl, pc);
  *module = m ? dwfl_module_info(m, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr) : nullptr;
  const char* name = m ? dwfl_module_addrname(m, pc) : nullptr;
  if (!name) return "[unknown]";
  int status = 0;
  char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 ? demangled : name;
  free(demangled);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) die("usage: dwfl_unwind PERF_DATA > stacks.txt");
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) die("cannot open the file");
  void* file = mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (file == MAP_FAILED) die("cannot map the file");
  std::vector<Sample> samples;
  std::vector<Mapping> maps;
  read_records(static_cast<const uint8_t*>(file), st.st_size, samples, maps);
  if (samples.empty() || maps.empty()) die("no samples or no executable mappings");

  Dwfl* dwfl = dwfl_begin(&kCallbacks);
  dwfl_report_begin(dwfl);
  for (const Mapping& m : maps)  // load bias = start - file offset, as perf reports them
    if (!dwfl_report_elf(dwfl, m.path.c_str(), m.path.c_str(), -1, m.start - m.pgoff, false))
      fprintf(stderr, "dwfl_unwind: %s: %s\n", m.path.c_str(), dwfl_errmsg(-1));
  dwfl_report_end(dwfl, nullptr, nullptr);
  Current cur{&samples[0]};
  if (!dwfl_attach_state(dwfl, nullptr, samples[0].pid, &kThreadCallbacks, &cur)) die(dwfl_errmsg(-1));

  const double t0 = cpu_seconds();
  auto stacks = unwind_all(dwfl, cur, samples);
  const double t1 = cpu_seconds();
  stacks = unwind_all(dwfl, cur, samples);
  const double t2 = cpu_seconds();
  // Each distinct pc is symbolized once (libdw's dwfl_module_addrname scans
  // the symbol table on every call), as the agent symbolizes each stack once.
  std::unordered_map<uint64_t, std::string> lines;
  std::string out;
  size_t frames = 0;
  for (const auto& pcs : stacks) {
    for (uint64_t pc : pcs) {
      auto [it, added] = lines.try_emplace(pc);
      if (added) {
        const char* module = nullptr;
        std::string fn = function_at(dwfl, pc, &module);
        char addr[32];
        snprintf(addr, sizeof addr, "\t%16lx ", static_cast<unsigned long>(pc));
        it->second = addr + fn + " (" + (module ? module : "[unknown]") + ")\n";
      }
      out += it->second;
    }
    out += "\n";
    frames += pcs.size();
  }
  const double t3 = cpu_seconds();
  fwrite(out.data(), 1, out.size(), stdout);
  const double n = samples.size();
  fprintf(stderr, "dwfl_samples=%zu dwfl_frames=%zu dwfl_cold_us=%.2f dwfl_warm_us=%.2f dwfl_symbolize_us=%.2f\n",
          samples.size(), frames, 1e6 * (t1 - t0) / n, 1e6 * (t2 - t1) / n, 1e6 * (t3 - t2) / n);
  dwfl_end(dwfl);
  return 0;
}
