# Decides whether the CUDA kernels are built. Sets MHA2MLA_HAVE_CUDA (ON or OFF) in the caller's scope.
#   -DMHA2MLA_CUDA=OFF       never build them
#   -DCMAKE_CUDA_COMPILER=   pick an nvcc (else PATH, $CUDACXX, then /usr/local/cuda/bin/nvcc)
#   -DCMAKE_CUDA_ARCHITECTURES=  defaults to "80;90" (A100, H100)
include_guard(GLOBAL)

option(MHA2MLA_CUDA "Build the CUDA kernels when a CUDA compiler is found" ON)
set(MHA2MLA_HAVE_CUDA OFF)

if(NOT MHA2MLA_CUDA)
  message(STATUS "mha2mla: MHA2MLA_CUDA=OFF, CUDA kernels were not built (CPU kernels only)")
  return()
endif()

include(CheckLanguage)
if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
  find_program(_mha2mla_nvcc_on_path nvcc)
  if(NOT _mha2mla_nvcc_on_path)
    set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)
  endif()
endif()
check_language(CUDA)

if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "mha2mla: no CUDA compiler found, CUDA kernels were not built (CPU kernels only)")
  return()
endif()

set(CMAKE_CUDA_ARCHITECTURES "80;90" CACHE STRING "GPU architectures the CUDA kernels are compiled for")
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
set(MHA2MLA_HAVE_CUDA ON)
message(STATUS "mha2mla: building CUDA kernels with ${CMAKE_CUDA_COMPILER} "
               "(CUDA ${CUDAToolkit_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
