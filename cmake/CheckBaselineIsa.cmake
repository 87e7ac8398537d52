# cmake -DOBJDUMP=<objdump> -DLIBRARY=<libmha2mla_native.a> -P CheckBaselineIsa.cmake
#
# Fails if any function of the library outside the AVX2 / AVX-512 kernel variants (names containing
# "avx2" or "avx512") holds an AVX instruction (VEX/EVEX encoded: mnemonics starting with "v", or
# ymm/zmm registers). Those variants only run after a CPU check, so everything else must run on any
# x86-64: this is the test that the portable build cannot die of an illegal instruction.
execute_process(COMMAND "${OBJDUMP}" -d --no-show-raw-insn -C "${LIBRARY}"
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "objdump failed on ${LIBRARY}")
endif()
string(REPLACE ";" "," listing "${listing}")
string(REPLACE "\n" ";" lines "${listing}")
set(function "")
set(functions 0)
set(offenders "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-f]+ <(.*)>:$")
    set(function "${CMAKE_MATCH_1}")
    math(EXPR functions "${functions} + 1")
  elseif(NOT function MATCHES "avx2|avx512" AND line MATCHES "\t(v[a-z0-9]+ |.*%[yz]mm)")
    list(APPEND offenders "${function}: ${line}")
  endif()
endforeach()
if(offenders)
  list(LENGTH offenders n)
  list(SUBLIST offenders 0 10 shown)
  list(JOIN shown "\n  " shown)
  message(FATAL_ERROR "${n} AVX instruction(s) outside the avx2/avx512 variants, e.g.\n  ${shown}")
endif()
message(STATUS "baseline ISA ok: ${functions} functions, AVX only inside the avx2/avx512 variants")
