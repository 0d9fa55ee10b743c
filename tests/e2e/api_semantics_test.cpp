// Every entry point, including the calls glibc defines specially, counted
// exactly and matched to its free.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "e2e/e2e_support.h"

using namespace memscope::test;
using namespace std::chrono_literals;
using nlohmann::json;

TEST_CASE("glibc semantics: realloc(NULL) and realloc(p 0) and free(NULL) and failures and 5 GiB", "[e2e][api]") {
  const ProgramRun run = trace_test_program(API_SEMANTICS_BIN, {"--sample-all"});
  const bool huge_ok = run.program_err.find("done 1 1 1") != std::string::npos;
  const json& r = run.report;
  const json& api = r["exact"]["by_api"];

  // malloc: realloc-zero base, reallocarray base, huge, 3 leaky. realloc(NULL)
  // entering malloc is not a malloc call of the program.
  CHECK(api["malloc"]["calls"] == 6);
  CHECK(api["malloc"]["bytes"] == 100 + 64 + (5ull << 30) + 3 * 777);
  CHECK(api["realloc"]["calls"] == 3);
  CHECK(api["realloc"]["bytes"] == 0 + 300 + 5000);
  CHECK(api["reallocarray"]["calls"] == 2);
  CHECK(api["reallocarray"]["bytes"] == 200);  // the overflowing call requests nothing countable
  CHECK(api["calloc"]["calls"] == 2);
  CHECK(api["calloc"]["bytes"] == 63);
  CHECK(api["posix_memalign"]["calls"] == 2);
  CHECK(api["posix_memalign"]["bytes"] == 1100);
  std::string memalign_as = api["memalign"].value("counted_as", std::string("memalign"));
  CHECK(api[memalign_as]["calls"] == 1);
  CHECK(api["valloc"]["calls"] == 1);
  CHECK(api["pvalloc"]["calls"] == 1);
  CHECK(api["free"]["calls"] == 8);  // free(NULL) is a no-op and not counted
  CHECK(r["sampling"]["nested_calls"].get<uint64_t>() >=
        3);  // realloc(NULL)->malloc, realloc(p,0)->free, reallocarray->realloc

  // Every sampled block was matched to its free, but the leaked ones and the
  // reallocarray base that survived its failed call until it was grown.
  CHECK(site_estimate(r, "site_malloc_then_realloc_zero").live_count == 0);
  CHECK(site_estimate(r, "site_realloc_null").live_count == 0);
  CHECK(site_estimate(r, "site_realloc_null").count == 1);
  CHECK(site_estimate(r, "site_reallocarray_base").live_count == 0);
  CHECK(site_estimate(r, "site_reallocarray_overflow").count == 0);
  CHECK(site_estimate(r, "site_calloc_overflow").count == 0);
  CHECK(site_estimate(r, "site_posix_memalign_bad").count == 0);
  CHECK(site_estimate(r, "site_posix_memalign_ok").count == 1);
  CHECK(site_estimate(r, "site_posix_memalign_ok").live_count == 0);
  if (huge_ok) CHECK(site_estimate(r, "site_huge").bytes == double(5ull << 30));
  CHECK(leak_estimate(r, "site_leaky").live_count == 3);
  CHECK(leak_estimate(r, "site_leaky").live_bytes == 3 * 777);
  INFO(r["leaks"].dump(1));
  CHECK(r["leaks"].size() == 1);
}
