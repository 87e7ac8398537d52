/* mha2mla native kernels: the one C header for every entry point.
 *
 * Each attention entry point has a CPU implementation (native/src) and, in a build with CUDA,
 * a GPU one (kernels/) with the same semantics; `device` picks which runs. Every call returns
 * a status code (MLA_OK or an MLA_ERR_*), never aborts. Shapes and strides are explicit; nothing
 * is global except the CPU thread count and CPU variant set below.
 */
#ifndef MHA2MLA_H
#define MHA2MLA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { MLA_OK = 0, MLA_ERR_INVALID_ARGUMENT = 1, MLA_ERR_UNSUPPORTED = 2, MLA_ERR_CUDA = 3, MLA_ERR_OUT_OF_MEMORY = 4 };
enum { MLA_DEVICE_CPU = 0, MLA_DEVICE_CUDA = 1 };

const char* mla_status_string(int status);      /* static string, never NULL */
int mla_cuda_compiled(void);                   /* 1 if built with CUDA */
int mla_cuda_device_count(void);               /* 0 when not compiled or no GPU/driver; never fails */
const char* mla_cpu_isa(void);                 /* "avx512f", "avx2" or "baseline": the variant the CPU kernels dispatch to */
int mla_set_num_threads(int n);                /* OpenMP threads for CPU kernels (0 = default) */

/* Pins the CPU kernels to one variant: "avx512f", "avx2", "baseline", or NULL / "auto" for the
   best one this CPU supports (the default). MLA_ERR_UNSUPPORTED if this CPU cannot run it,
   MLA_ERR_INVALID_ARGUMENT for an unknown name. Meant for tests and benchmarks. */
int mla_set_cpu_isa(const char* isa);

/* 1. Fused relative-position attention over expanded K/V (MHA and expanded MLA), float32.
   q [B,H,Tq,dh], k and v [B,H,Tk,dh], out [B,H,Tq,dh]: each given by a data pointer and 3 element strides
   (batch, head, time); the last dimension is contiguous (stride 1).
   p: projected relative embeddings [P,H,dh], strides (row, head), last dim contiguous.
   u, w: pos_bias_u, pos_bias_v [H,dh] contiguous.
   Query i sits at absolute position q_offset + i, key j at position j; delta = q_offset + i - j;
   the p row for delta is zero_row - delta (must lie in [0,P) for every valid pair, else MLA_ERR_INVALID_ARGUMENT).
   Full utterance: Tq = Tk = T, q_offset = 0, P = 2T-1, zero_row = T-1 (HF layout: row m is delta (T-1)-m).
   score[i,j] = ((q_i + u).k_j + (q_i + w).p[zero_row - delta]) * scale, keys j >= lengths[b] masked out
   (lengths may be NULL = all Tk valid; each length must be in [1,Tk]); softmax over j; out_i = sum_j prob v_j.
   Query rows are all computed (HF computes padded query rows too, attending over the valid keys).
   Flash style: online softmax over key tiles, BD computed on the fly, no Tq x Tk buffer.

   Input strides must be >= 0 (0 broadcasts), output strides >= 1. With device = MLA_DEVICE_CUDA
   every pointer is device memory, lengths included: the host cannot read lengths there, so the
   row check uses every key j < Tk (p must cover all Tk keys), and the kernel clamps each length
   to [1,Tk]. CUDA supports dh <= 128; larger gives MLA_ERR_UNSUPPORTED. */
int mla_relpos_attention_f32(int device, void* stream,
    int B, int H, int Tq, int Tk, int dh, int P, int zero_row, int q_offset, float scale,
    const float* q, const int64_t* q_strides,
    const float* k, const int64_t* k_strides,
    const float* v, const int64_t* v_strides,
    const float* p, const int64_t* p_strides,
    const float* u, const float* w,
    const int32_t* lengths,
    float* out, const int64_t* out_strides);

/* 2. Fused latent attention (absorbed MLA), float32. All heads share the latent c.
   qa [B,H,Tq,r] absorbed queries (qa = W_uk,h^T (q + u)), c [B,Tk,r] latent (strides batch, time),
   qw [B,H,Tq,dh] = q + w (for the BD term), p as above, out z [B,H,Tq,r].
   score[i,j] = (qa_i . c_j + qw_i . p[zero_row - delta]) * scale, mask/softmax as above; z_i = sum_j prob c_j.

   Strides, lengths and the row check follow entry point 1. CUDA supports r <= 1024 and dh <= 128. */
int mla_latent_attention_f32(int device, void* stream,
    int B, int H, int Tq, int Tk, int r, int dh, int P, int zero_row, int q_offset, float scale,
    const float* qa, const int64_t* qa_strides,
    const float* c, const int64_t* c_strides,
    const float* qw, const int64_t* qw_strides,
    const float* p, const int64_t* p_strides,
    const int32_t* lengths,
    float* z, const int64_t* z_strides);

/* 2b. Entry point 2 with the keys also split across GPU blocks ("flash decoding"). For a few query
   rows over a long cache, one block per (batch, 2-4 head-query rows) leaves most of a GPU idle; splitting the keys
   fills it. Same arguments and result as mla_latent_attention_f32, plus num_splits >= 1 (see
   mla_latent_attention_num_splits) and a caller-owned workspace of at least
   mla_latent_attention_workspace_bytes(B, H, Tq, r, num_splits) bytes, device memory for CUDA, which
   the call overwrites (NULL is fine when num_splits == 1). Calls that may overlap must not share a
   workspace. On the CPU num_splits and workspace are ignored: the CPU kernel splits keys across its
   threads by itself. CUDA supports num_splits <= 256. */
int mla_latent_attention_split_f32(int device, void* stream, int num_splits,
    void* workspace, int64_t workspace_bytes,
    int B, int H, int Tq, int Tk, int r, int dh, int P, int zero_row, int q_offset, float scale,
    const float* qa, const int64_t* qa_strides,
    const float* c, const int64_t* c_strides,
    const float* qw, const int64_t* qw_strides,
    const float* p, const int64_t* p_strides,
    const int32_t* lengths,
    float* z, const int64_t* z_strides);

/* Workspace bytes for mla_latent_attention_split_f32: 0 when num_splits == 1, -1 for bad arguments. */
int64_t mla_latent_attention_workspace_bytes(int B, int H, int Tq, int r, int num_splits);

/* A split count for mla_latent_attention_split_f32 that fills the current GPU (about two blocks per
   multiprocessor, at least 128 keys per split); 1 for MLA_DEVICE_CPU, without CUDA, or on bad arguments. */
int mla_latent_attention_num_splits(int device, int B, int H, int Tq, int r, int Tk);

#ifdef __cplusplus
}
#endif

#endif /* MHA2MLA_H */
