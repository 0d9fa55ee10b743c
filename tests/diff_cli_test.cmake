# `memscope-bpf diff` as a user runs it, on two reports the unit tests
# wrote (unit_diff_reports): the table, the differential folded file and the
# exit statuses. cmake -DBIN=memscope-bpf -DDIR=dir-with-the-reports -P this
function(diff expected_code)
  execute_process(COMMAND ${BIN} diff ${ARGN} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE code)
  if(NOT code EQUAL expected_code)
    message(FATAL_ERROR "diff ${ARGN}: exit ${code}, expected ${expected_code}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
  set(err "${err}" PARENT_SCOPE)
endfunction()

function(expect text pattern)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "expected /${pattern}/ in:\n${text}")
  endif()
endfunction()

# One line on stderr, naming the problem.
function(expect_error pattern)
  expect("${err}" "^memscope-bpf: error: ${pattern}\n$")
endfunction()

set(old ${DIR}/old.json)
set(new ${DIR}/new.json)
file(REMOVE ${DIR}/diff.folded)

diff(0 ${old} ${new} --top 3 --folded ${DIR}/diff.folded)
expect("${out}" "2 sites grew and 1 shrank beyond both 95% intervals")
expect("${out}" "\n +1\\. allocated \\+2\\.0 KiB\\* \\(1000 B -> 2\\.9 KiB\\)[^\n]*parse\\(Req&\\) \\(server\\) <- handle\n")
expect("${out}" "\n +2\\. [^\n]*cache;lookup \\(server\\) <- main \\[new\\]\n")
expect("${out}" "\\.\\.\\. 1 more")
file(READ ${DIR}/diff.folded folded)
set(want "main;handle;parse(Req&) 1000 3000\nmain;cache lookup 0 1500\nmain;legacy 700 0\nmain;render 5000 5100\n")
if(NOT folded STREQUAL want)
  message(FATAL_ERROR "folded file:\n${folded}\nexpected:\n${want}")
endif()

diff(0 ${old} ${new} --metric live --top 1)
expect("${out}" "by live bytes")
expect("${out}" "\n +1\\. [^\n]*cache;lookup")

diff(3 ${old} ${new} --fail-on-growth)
diff(0 ${old} ${old} --fail-on-growth)
diff(0 ${new} ${old})  # shrinking only

diff(1 ${DIR}/missing.json ${new})
expect_error("cannot read ${DIR}/missing.json: No such file or directory")
diff(1 ${old} ${DIR}/foreign.json)
expect_error("${DIR}/foreign.json is not a memscope-bpf report: schema is \"pprof/v2\", not \"memscope-bpf/report/v1\"")
diff(1 ${old} ${DIR})
expect_error("cannot read ${DIR}: Is a directory")
diff(2 ${old} ${new} --metric bogus)
diff(2 ${old})
