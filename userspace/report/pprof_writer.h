// pprof's profile.proto (from Debian's golang-github-google-pprof-dev),
// gzipped, laid out as Go's heap profiles are so that `go tool pprof` and
// every viewer reading those shows it as one: the sample types
// alloc_objects/count, alloc_space/bytes, inuse_objects/count and
// inuse_space/bytes, values already unbiased (the report's estimates,
// rounded), and a numeric "bytes" label with the mean block size. Each
// site is one sample; its frames are functions with file and line and
// locations whose inlined functions are Lines of one Location, as pprof
// keeps them; each module of each process one mapping with its build id.
#pragma once
#include <string>

#include "profile.pb.h"
#include "report/report.h"

namespace memscope {

perftools::profiles::Profile to_pprof(const Report& report);

// The serialized profile, gzipped (what a .pb.gz holds).
std::string pprof_bytes(const Report& report);

// gzip of `data` with zlib; throws Error when zlib fails.
std::string gzip(const std::string& data);

}  // namespace memscope
