// End-to-end tests attach real probes to real processes. They need root and
// a kernel with BPF; without either they report themselves skipped (exit 77,
// which ctest shows as "Skipped"), never passed.
#define CATCH_CONFIG_RUNNER
#include <bpf/bpf.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

int main(int argc, char** argv) {
  if (geteuid() != 0) {
    fprintf(stderr, "SKIPPED: end-to-end tests need root to load BPF programs\n");
    return 77;
  }
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "ms_probe", 4, 4, 1, nullptr);
  if (fd < 0) {
    fprintf(stderr, "SKIPPED: this kernel does not let us create BPF maps\n");
    return 77;
  }
  close(fd);
  return Catch::Session().run(argc, argv);
}
