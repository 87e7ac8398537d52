// Stand-in for the CUDA header in the emulated build (see cuda_emulation.h).
#pragma once
#include "cuda_emulation.h"
