# mha2mla_write_link_file(<file>): lists, one per line, what a program or JNI library must add to its
# link line to use the kernels: the static libraries in link order (absolute paths), then linker flags.
# The Maven build reads it.
include_guard(GLOBAL)

function(mha2mla_write_link_file file)
  set(lines "$<TARGET_FILE:mha2mla_native>")
  if(MHA2MLA_HAVE_CUDA)
    list(APPEND lines "$<TARGET_FILE:mha2mla_cuda>" "${CUDA_cudart_static_LIBRARY}" -ldl -lrt -lpthread)
  endif()
  # --exclude-libs: nothing from these archives (cudart_static above all) is exported from the library
  # they are linked into, so they cannot interpose on the CUDA runtime LibTorch loads.
  list(APPEND lines ${OpenMP_CXX_FLAGS} -lm -Wl,--exclude-libs,ALL)
  list(JOIN lines "\n" content)
  file(GENERATE OUTPUT "${file}" CONTENT "${content}\n")
endfunction()
