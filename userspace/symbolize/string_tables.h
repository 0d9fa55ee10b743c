// Whether an object's string tables can be handed to libdwfl and libdw.
// Both return a name as a pointer into its string table after checking
// only its offset (elfutils 0.188: symbol names, DW_FORM_strp and
// DW_FORM_line_strp strings), and the caller runs strlen: a table that does
// not end in a NUL (a crafted file: the object_symbols fuzzer's) is read
// past its end, in the heap now that the agent reads files instead of
// mapping them (with a mapping, into the next bytes of the file, and past
// its last page a fault).
#pragma once
#include <libelf.h>

namespace memscope {

// False when the string table of a symbol table, .debug_str or
// .debug_line_str (their .dwo forms too) has bytes after its last NUL or
// cannot be read, and for the old GNU compressed form (.zdebug_str), which
// is not checked. A section compressed the standard way (SHF_COMPRESSED)
// is left decompressed in `elf`, as libdw would leave it.
bool string_tables_terminated(Elf* elf);

}  // namespace memscope
