// MapsHistory: which snapshot of a process's mappings an address made at a
// given time is read against.
#include "symbolize/maps_history.h"

#include <catch2/catch.hpp>

using namespace memscope;

namespace {

// Snapshots hold mappings by address, as /proc/PID/maps lists them.
Mapping code(uint64_t start, uint64_t inode, const std::string& path) {
  Mapping m;
  m.start = start;
  m.end = start + 0x1000;
  m.inode = inode;
  m.dev = "08:01";
  m.path = path;
  m.executable = true;
  return m;
}

// The path of the mapping `h` reads `address` at `when` against; "" if none.
std::string at(const MapsHistory& h, uint64_t address, uint64_t when) {
  auto found = h.find(address, when);
  return found ? found->map->path : "";
}

const Mapping prog = code(0x400000, 1, "/bin/prog");
const Mapping lib_a = code(0x7000, 2, "/lib/a.so");
const Mapping lib_b = code(0x7000, 3, "/lib/b.so");  // where a.so was

}  // namespace

TEST_CASE("maps history: a library unloaded and another loaded at its address, each read in its own epoch") {
  MapsHistory h;
  REQUIRE(h.add(100, {lib_a, prog}));
  h.changed(200, MapsHistory::Change::load);  // b.so loaded (a.so unloaded before, unseen)
  REQUIRE(h.add(250, {lib_b, prog}));
  CHECK(at(h, 0x7010, 150) == "/lib/a.so");  // a call made while a.so was there
  CHECK(at(h, 0x7010, 50) == "/lib/a.so");   // before the first snapshot: the first after it
  CHECK(at(h, 0x7010, 300) == "/lib/b.so");
  CHECK(at(h, 0x7010, 210) == "/lib/b.so");  // after the load, before its snapshot
  CHECK(at(h, 0x7010, UINT64_MAX) == "/lib/b.so");
  CHECK(at(h, 0x400010, 150) == "/bin/prog");
  CHECK(at(h, 0x400010, 300) == "/bin/prog");
  CHECK(at(h, 0x9000, 150) == "");  // mapped by no snapshot
}

TEST_CASE("maps history: a snapshot taken while the next dlopen maps its library, before its report, is not read") {
  // a.so used at 150 and unloaded; b.so mapped where it was at 190, its
  // dlopen reported at 200; a snapshot at 195 (new sites of the linker's
  // own mallocs) already holds b.so.
  MapsHistory h;
  REQUIRE(h.add(100, {lib_a, prog}));
  REQUIRE(h.add(195, {lib_b, prog}));
  h.changed(200, MapsHistory::Change::load);
  CHECK(at(h, 0x7010, 150) == "/lib/a.so");
  CHECK(at(h, 0x7010, 250) == "/lib/b.so");
  // Without a snapshot before the call, the one after it is all there is.
  MapsHistory late;
  REQUIRE(late.add(160, {lib_a, prog}));
  CHECK(at(late, 0x7010, 150) == "/lib/a.so");
}

TEST_CASE("maps history: an epoch without a snapshot reads what earlier epochs mapped, never what later ones did") {
  MapsHistory h;
  REQUIRE(h.add(100, {prog}));
  h.changed(200, MapsHistory::Change::load);  // a.so loaded, used, unloaded before any snapshot
  h.changed(300, MapsHistory::Change::load);  // then b.so at its address
  REQUIRE(h.add(350, {lib_b, prog}));
  // A call of a.so's time: b.so is not named for it; the program still is.
  CHECK(at(h, 0x7010, 250) == "");
  CHECK(at(h, 0x400010, 250) == "/bin/prog");
  CHECK(at(h, 0x7010, 310) == "/lib/b.so");
}

TEST_CASE("maps history: nothing mapped before an exec is read after it, nor after it before") {
  MapsHistory h;
  REQUIRE(h.add(100, {lib_a, prog}));
  h.changed(200, MapsHistory::Change::exec);
  const Mapping next = code(0x400000, 9, "/bin/next");  // the new program where the old one was
  REQUIRE(h.add(300, {next}));
  CHECK(at(h, 0x400010, 150) == "/bin/prog");
  CHECK(at(h, 0x400010, 250) == "/bin/next");
  CHECK(at(h, 0x7010, 150) == "/lib/a.so");
  CHECK(at(h, 0x7010, 250) == "");  // gone with the exec, though no snapshot after it lacks it yet
}

TEST_CASE("maps history: a snapshot that changes nothing is kept only to open a new epoch") {
  MapsHistory h;
  REQUIRE(h.add(100, {lib_a, prog}));
  CHECK(!h.add(150, {lib_a, prog}));
  CHECK(h.snapshots() == 1);
  CHECK(h.add(160, {prog}));  // a.so unloaded
  h.changed(200, MapsHistory::Change::load);
  CHECK(h.add(250, {prog}));  // the same mappings, but an epoch of its own
  CHECK(h.snapshots() == 3);
  CHECK(at(h, 0x7010, 120) == "/lib/a.so");
  // Stable indexes: a snapshot found keeps its number as others are added.
  const size_t index = h.find(0x7010, 120)->snapshot;
  CHECK(h.add(300, {lib_b, prog}));
  CHECK(h.find(0x7010, 120)->snapshot == index);
}

TEST_CASE("maps history: a child gone before it was read stands on its parent's latest snapshot") {
  MapsHistory parent, child;
  REQUIRE(parent.add(100, {prog}));
  REQUIRE(parent.add(200, {lib_a, prog}));
  child.copy_latest(parent);
  CHECK(!child.empty());
  CHECK(at(child, 0x7010, 500) == "/lib/a.so");
  CHECK(at(child, 0x7010, 10) == "/lib/a.so");
  MapsHistory orphan;
  orphan.copy_latest(MapsHistory{});
  CHECK(orphan.empty());
}
