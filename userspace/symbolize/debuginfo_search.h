// Where libdwfl may look for an object's separate debug file. libdwfl maps
// each file it opens, and a mapped file that its owner truncates faults
// (SIGBUS) in the agent: a debug file is read only from where no one but
// root can change it. Its search path (":.debug:/usr/lib/debug" by
// default) names the object's own directory (the empty entry) and its
// subdirectories (relative entries), where a traced program may keep and
// truncate files of its own, and absolute directories, searched by build id
// and by the object's directory below them. (The object itself is read
// without a mapping: object_symbols.cpp.)
#pragma once
#include <string>

namespace memscope {

// Whether no one but root can change what `path` names: every component
// from / an existing file or directory (not a symbolic link) owned by root,
// none writable by group or others, but for sticky directories (where only
// an entry's owner may remove or rename it).
bool root_held(const std::string& path);

// `search_path` (empty: libdwfl's default) less each entry that names the
// object's directory or a subdirectory of it when that directory, or a file
// in it by a name libdwfl would try (`debuglink`, which may be null, or the
// object's name with ".debug"), is not root_held, and less each absolute
// entry that is not; objects under /proc (another mount namespace, through
// /proc/PID/root) never have their directories searched. What is left
// searches nothing when nothing is.
std::string trusted_debuginfo_path(const std::string& search_path, const std::string& object_path,
                                   const char* debuglink);

}  // namespace memscope
