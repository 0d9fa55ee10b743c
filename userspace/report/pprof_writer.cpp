#include "report/pprof_writer.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <unordered_map>

#include "common/error.h"
#include "report/json_report.h"
#include "report/profile_sites.h"

namespace memscope {
namespace {

namespace pb = perftools::profiles;

// Builds the profile's tables: strings, functions, mappings and locations
// each made once and referred to by index or id.
class ProfileBuilder {
 public:
  ProfileBuilder() { str(""); }  // index 0 is the empty string

  // profile.proto's strings must be UTF-8 (protobuf refuses to parse the
  // profile otherwise); the names are the traced programs' own bytes.
  int64_t str(const std::string& s) {
    auto [it, fresh] = strings_.try_emplace(s, static_cast<int64_t>(strings_.size()));
    if (fresh) profile_.add_string_table(utf8_repaired(s));
    return it->second;
  }

  void value_type(pb::ValueType* t, const char* type, const char* unit) {
    t->set_type(str(type));
    t->set_unit(str(unit));
  }

  void add_sample(const ProfileSite& p);
  void main_binary_first(const TargetReport& t);
  pb::Profile& profile() { return profile_; }

 private:
  uint64_t function_id(const Frame& f);
  uint64_t mapping_id(uint32_t pid, const Frame& f);
  uint64_t location_id(uint32_t pid, const std::vector<Frame>& frames, size_t first, size_t last);

  pb::Profile profile_;
  std::unordered_map<std::string, int64_t> strings_;
  std::map<std::tuple<std::string, std::string>, uint64_t> functions_;         // name, file
  std::map<std::tuple<uint32_t, std::string, std::string>, size_t> mappings_;  // pid, module, build id
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> locations_;                // pid, address
};

uint64_t ProfileBuilder::function_id(const Frame& f) {
  auto [it, fresh] = functions_.try_emplace({frame_name(f), f.file}, functions_.size() + 1);
  if (fresh) {
    pb::Function* fn = profile_.add_function();
    fn->set_id(it->second);
    fn->set_name(str(frame_name(f)));
    fn->set_system_name(fn->name());  // the names are demangled already
    fn->set_filename(str(f.file));
  }
  return it->second;
}

// A module of a process: it starts at its load bias (where its ELF virtual
// address 0 is, the address minus the frame's offset into the module) and
// ends past the highest return address seen in it; the report keeps no
// more of the process's maps. 0 (no mapping) for code outside any file.
uint64_t ProfileBuilder::mapping_id(uint32_t pid, const Frame& f) {
  if (!f.offset || f.module.empty() || f.module[0] == '[') return 0;
  auto [it, fresh] = mappings_.try_emplace({pid, f.module, f.build_id}, mappings_.size());
  if (fresh) {
    pb::Mapping* m = profile_.add_mapping();
    m->set_id(it->second + 1);
    m->set_memory_start(f.address - *f.offset);
    m->set_filename(str(f.module));
    m->set_build_id(str(f.build_id));
    // Every location carries its function already: pprof must not look for
    // the file to symbolize it again.
    m->set_has_functions(true);
  }
  pb::Mapping* m = profile_.mutable_mapping(static_cast<int>(it->second));
  m->set_memory_limit(std::max<uint64_t>(m->memory_limit(), f.address + 1));
  if (!f.file.empty()) m->set_has_filenames(true);
  if (f.line > 0) m->set_has_line_numbers(true);
  if (f.inlined) m->set_has_inline_frames(true);
  return it->second + 1;
}

// frames[first..last]: the functions inlined at one address, innermost
// first, and the one they are inlined into last, as pprof orders Lines.
uint64_t ProfileBuilder::location_id(uint32_t pid, const std::vector<Frame>& frames, size_t first, size_t last) {
  const Frame& outer = frames[last];
  // Frames without an address (a stack not recorded) are told apart by name.
  const uint64_t key = outer.address ? outer.address : (1ull << 63) | function_id(outer);
  auto [it, fresh] = locations_.try_emplace({pid, key}, locations_.size() + 1);
  if (!fresh) return it->second;
  pb::Location* loc = profile_.add_location();
  loc->set_id(it->second);
  loc->set_mapping_id(mapping_id(pid, outer));
  loc->set_address(outer.address);
  for (size_t i = first; i <= last; ++i) {
    pb::Line* line = loc->add_line();
    line->set_function_id(function_id(frames[i]));
    line->set_line(frames[i].line);
    mapping_id(pid, frames[i]);  // its file, line and inlining marks
  }
  return it->second;
}

void ProfileBuilder::add_sample(const ProfileSite& p) {
  const SiteStats& e = p.site->estimated;
  pb::Sample* s = profile_.add_sample();
  const std::vector<Frame> frames = stack_of(*p.site);
  const uint32_t pid = static_cast<uint32_t>(p.target->process.pid);
  for (size_t first = 0, i = 0; i < frames.size(); ++i)
    if (!frames[i].inlined || i + 1 == frames.size()) {
      s->add_location_id(location_id(pid, frames, first, i));
      first = i + 1;
    }
  for (double v : {e.count, e.bytes, e.live_count, e.live_bytes}) s->add_value(std::llround(v));
  // As Go's heap profiles: the mean size of the site's blocks.
  pb::Label* bytes = s->add_label();
  bytes->set_key(str("bytes"));
  bytes->set_num(e.count > 0 ? std::llround(e.bytes / e.count) : 0);
  bytes->set_num_unit(str("bytes"));
  pb::Label* pid_label = s->add_label();
  pid_label->set_key(str("pid"));
  pid_label->set_num(pid);
}

// pprof takes the first mapping for the main binary (its "File:" line and
// where it looks for symbols): the first process's executable.
void ProfileBuilder::main_binary_first(const TargetReport& t) {
  const std::string exe = t.process.exe.substr(t.process.exe.find_last_of('/') + 1);
  for (const auto& [key, index] : mappings_)
    if (std::get<0>(key) == static_cast<uint32_t>(t.process.pid) && std::get<1>(key) == exe) {
      if (index != 0) profile_.mutable_mapping()->SwapElements(0, static_cast<int>(index));
      return;
    }
}

// What the figures are, for `pprof -comments`.
void add_comments(ProfileBuilder& b, const Report& report) {
  pb::Profile& p = b.profile();
  p.add_comment(b.str("memscope-bpf 0.1.0: " + report.mechanism));
  std::string how = "estimated from sampled allocations, each weighted by the inverse of its sampling probability";
  if (report.sampling && report.sampling->current().by_bytes)
    how += " (Poisson sampling on bytes, mean interval " + std::to_string(report.sampling->current().byte_interval) +
           " bytes)";
  else if (report.sampling) how += " (size tiers)";
  p.add_comment(b.str(how));
  for (const auto& t : report.targets)
    p.add_comment(b.str("pid " + std::to_string(t.process.pid) + ": " + t.process.comm + " " + t.process.exe));
}

}  // namespace

pb::Profile to_pprof(const Report& report) {
  ProfileBuilder b;
  pb::Profile& p = b.profile();
  b.value_type(p.add_sample_type(), "alloc_objects", "count");
  b.value_type(p.add_sample_type(), "alloc_space", "bytes");
  b.value_type(p.add_sample_type(), "inuse_objects", "count");
  b.value_type(p.add_sample_type(), "inuse_space", "bytes");
  b.value_type(p.mutable_period_type(), "space", "bytes");
  // Go's period is its sampling interval; size tiers have none.
  if (report.sampling && report.sampling->current().by_bytes)
    p.set_period(static_cast<int64_t>(report.sampling->current().byte_interval));
  p.set_duration_nanos(std::llround(report.duration_s * 1e9));
  for (const auto& site : profile_sites(report)) b.add_sample(site);
  if (!report.targets.empty()) b.main_binary_first(report.targets.front());
  add_comments(b, report);
  return std::move(p);
}

std::string pprof_bytes(const Report& report) { return gzip(to_pprof(report).SerializeAsString()); }

std::string gzip(const std::string& data) {
  z_stream z{};
  // 15 window bits, +16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error("gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw Error("gzip: deflate failed");
  return out;
}

}  // namespace memscope
