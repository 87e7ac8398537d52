# mha2mla_target_warnings(<target>): -Wall -Wextra on our own C++ (and, through nvcc, CUDA host) code.
# -DMHA2MLA_WERROR=ON turns them into errors.
include_guard(GLOBAL)

option(MHA2MLA_WERROR "Treat compiler warnings in mha2mla code as errors" OFF)

function(mha2mla_target_warnings target)
  set(cxx_flags -Wall -Wextra)
  set(cuda_flags -Xcompiler=-Wall,-Wextra)
  if(MHA2MLA_WERROR)
    list(APPEND cxx_flags -Werror)
    list(APPEND cuda_flags -Werror=all-warnings -Xcompiler=-Werror)
  endif()
  target_compile_options(${target} PRIVATE
    "$<$<COMPILE_LANGUAGE:CXX>:${cxx_flags}>"
    "$<$<COMPILE_LANGUAGE:CUDA>:${cuda_flags}>")
endfunction()
