// The host's tracefs uprobe events, which --follow-children defines (one
// group per agent, memscope_<PID>) because a program attached to such an
// event runs for every process that inherits it. They outlive an agent that
// is killed (SIGKILL runs no destructor), so every agent removes, when it
// starts, the groups of agents that are gone.
#pragma once
#include <sys/types.h>

#include <set>
#include <string>

namespace memscope {

inline constexpr char kUprobeGroupPrefix[] = "memscope_";

// The tracefs root: where it is mounted, else a mount of it attached
// nowhere (fsmount without move_mount): no other process sees it and it goes
// away with its fd, so the agent changes no mount table. Throws Error.
int open_tracefs();

// Appends one command to uprobe_events (never O_TRUNC: that would delete
// every uprobe event on the machine, other tools' too); 0 or an errno.
int write_uprobe_command(int tracefs, const std::string& line);

// A file under the tracefs root, "" when it cannot be read.
std::string read_tracefs(int tracefs, const std::string& path);

struct StaleEvents {
  size_t removed = 0;
  std::set<pid_t> agents;  // the dead agents they belonged to
};

// Removes the uprobe events of memscope agents no longer running, waiting
// up to 10 s for those still busy (a killed agent's events are freed after
// it). Never throws: events it cannot remove are left (counted out of
// `removed`).
StaleEvents remove_stale_uprobe_events(int tracefs);
// The same, opening tracefs itself; nothing when there is no tracefs.
StaleEvents remove_stale_uprobe_events();

}  // namespace memscope
