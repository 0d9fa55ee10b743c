#!/usr/bin/env bash
# Remakes the checked-in seed corpus of tests/fuzz/corpus (docs/fuzzing.md):
# small ELF objects built from seed_elf.c (CFI in .eh_frame, in .debug_frame
# only, frame pointers, stripped; a PLT, an inlined function, a build id), the
# first bytes of this machine's glibc allocator entry points for the probe
# placement, /proc/self/maps lines, ld.so --list output, and the report
# fuzzer's strings. Run it only to change the seeds; the fuzzers and ctest
# read what is checked in.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ELF: shared objects without the C library, a few KB each (noseparate-code
# leaves out the page padding).
build() { gcc "$@" -fPIC -shared -nostdlib -Wl,--build-id -Wl,-z,noseparate-code seed_elf.c -o "$tmp/$name"; }
name=eh_frame.so build -O2 -g
name=debug_frame.so build -O2 -g -fno-asynchronous-unwind-tables -fno-unwind-tables
name=frame_pointer.so build -O1 -fno-omit-frame-pointer
strip -o "$tmp/stripped.so" "$tmp/frame_pointer.so"
# Symbol and relocation tables whose headers say each entry is one byte
# long (sh_entsize 1): the readers' loops, counting sh_size / sh_entsize,
# must stop at the first entry libelf cannot give (past the real ones) and
# not go on to the count (2^32 calls for a table in a big sparse file).
entsize_one() {  # in out
  local shoff nr
  cp "$1" "$2"
  shoff=$(readelf -hW "$2" | sed -n 's/.*Start of section headers: *\([0-9]*\).*/\1/p')
  for nr in $(readelf -SW "$2" | sed -n 's/^ *\[ *\([0-9]*\)\] *[^ ]* *\(DYNSYM\|SYMTAB\|RELA\) .*/\1/p'); do
    printf '\x01\x00\x00\x00\x00\x00\x00\x00' | dd of="$2" bs=1 seek=$((shoff + nr * 64 + 56)) conv=notrunc status=none
  done
}
entsize_one "$tmp/eh_frame.so" "$tmp/entsize_one.so"
for fuzzer in elf_file object_symbols unwind_table; do
  mkdir -p "corpus/$fuzzer"
  cp "$tmp"/*.so "corpus/$fuzzer/"
done

# Code: a settings byte (argument count, 0x80 = free()'s NULL early return
# needs no record) then 80 bytes from each entry point's start.
libc=$(gcc -print-file-name=libc.so.6)
libc=$(readlink -f "$libc")
mkdir -p corpus/probe_placement
code() {  # name settings
  local a s vaddr type off addr filesz offset rest
  while read -r a _ s; do
    if [[ ${s%%@*} == "$1" ]]; then vaddr=$((16#$a)); fi
  done < <(nm -D --defined-only "$libc")
  # The file offset of vaddr: through the LOAD segment that holds it.
  while read -r type off addr _ filesz rest; do
    if [[ $type == LOAD ]] && ((vaddr >= addr && vaddr < addr + filesz)); then offset=$((vaddr - addr + off)); fi
  done < <(readelf -lW "$libc")
  { printf "\\x$2"; dd if="$libc" bs=1 skip="$offset" count=80 status=none; } > "corpus/probe_placement/glibc_$1"
}
code malloc 01
code free 81
code calloc 02
code realloc 02
code memalign 02
code posix_memalign 03
# Hand-written: push rbp; mov rbp,rsp; ... and endbr64; test rdi,rdi; je.
printf '\x01\x55\x48\x89\xe5\x53\x48\x83\xec\x08\xc3' > corpus/probe_placement/push_rbp
printf '\x81\xf3\x0f\x1e\xfa\x48\x85\xff\x74\x20\x55\x53\xc3' > corpus/probe_placement/null_check

# Maps: lines as the kernel writes them, anonymous, special, deleted and
# with spaces in the path.
mkdir -p corpus/proc_maps
head -c 2000 /proc/self/maps > corpus/proc_maps/self
cat > corpus/proc_maps/special <<'MAPS'
55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000001000 r-xp 00001000 fd:01 1234567                    /opt/app/lib with space.so
7f0000001000-7f0000002000 r-xp 00000000 fd:01 7654321                    /tmp/gone.so (deleted)
7ffd5e1f0000-7ffd5e211000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
MAPS

# ld.so --list: a dynamic executable's (its first line stands for the
# executable's path), a static one's, and blank and whitespace-only lines.
mkdir -p corpus/ld_list
{ echo /usr/bin/ls; /lib64/ld-linux-x86-64.so.2 --list /usr/bin/ls; } > corpus/ld_list/dynamic
printf '/bin/static\n\tstatically linked\n' > corpus/ld_list/static
printf '/bin/x\n\n   \n\t\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n \t \n' > corpus/ld_list/blank_lines

# Report strings: FuzzedDataProvider's random-length strings end at a lone
# backslash. ASCII, UTF-8 and bytes that are not UTF-8.
mkdir -p corpus/report_json
printf 'server\\/usr/bin/server\\/lib/x86_64-linux-gnu/libc.so.6\\plugin.so\\' > corpus/report_json/ascii
printf 'caf\xc3\xa9\\/srv/\xe6\x97\xa5\xe6\x9c\xac/app\\operator new(unsigned long)\\' > corpus/report_json/utf8
printf 'bad\xff\xfe\\/tmp/\xc3(\\\x80\x80\\f\xed\xa0\x80\\' > corpus/report_json/not_utf8
