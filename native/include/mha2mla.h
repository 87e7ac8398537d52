/* mha2mla native kernels: the one C header for every entry point.
 *
 * Each attention entry point has a CPU implementation (native/src) and, in a build with CUDA,
 * a GPU one (kernels/) with the same semantics; `device` picks which runs. Every call returns
 * a status code (MLA_OK or an MLA_ERR_*), never aborts. Shapes and strides are explicit; nothing
 * is global except the CPU thread count and CPU variant set below.
 *
 * 1-2: fused attention over K/V or over the latent (whole utterances, or a chunk over dense keys), in float32,
 *      bfloat16 or float16 (the dtype argument), 2 with an optional split of the keys across GPU blocks;
 * 3: streaming caches (per-session K/V or latent cache, append a chunk, attend its queries), float32;
 * 4: a dense layer y = x W^T + b, float32, CPU only (on a GPU LibTorch's cuBLAS products serve).
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
/* Bytes the C allocator (malloc) has handed out and not taken back, over all arenas and mmap'd blocks:
   LibTorch's CPU tensors, kernel scratch and caches, but not the JVM heap (mapped by the JVM itself).
   -1 where the C library cannot say (not glibc). For leak tests: unlike resident memory it ignores the heap. */
int64_t mla_malloc_in_use_bytes(void);

/* Pins the CPU kernels to one variant: "avx512f", "avx2", "baseline", or NULL / "auto" for the
   best one this CPU supports (the default). MLA_ERR_UNSUPPORTED if this CPU cannot run it,
   MLA_ERR_INVALID_ARGUMENT for an unknown name. Meant for tests and benchmarks. */
int mla_set_cpu_isa(const char* isa);

/* Element types of entry points 1 and 2, dtype:
     MLA_F32   float32;
     MLA_BF16  bfloat16: 1 sign, 8 exponent, 7 mantissa bits, the high half of a float32's bits;
     MLA_F16   float16, IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits.
   Every tensor of a call (q, k, v, p, u, w, out; or qa, c, qw, p, z) has that type, passed as a pointer to its
   elements: for the 16-bit types, uint16_t values holding the bits (e.g. a torch.bfloat16 / float16 buffer).
   Shapes, strides (in elements), lengths (int32), scale (float), status codes, CUDA limits and the split workspace
   (float32 partials, the same size for every dtype) do not depend on it. An unknown dtype is
   MLA_ERR_INVALID_ARGUMENT.
   Precision: the inputs are widened exactly to float32; dot products, the online softmax and all sums are
   float32; each output element is rounded once from float32 to the 16-bit type, to nearest with ties to even
   (magnitudes from the largest finite value plus half an ulp up become infinities, a NaN becomes 0x7fff).
   The CPU does exactly that: it widens the inputs into float32 copies, runs the float32 kernel and rounds its
   result. CUDA widens in registers as it loads, so the two differ by the order of the float32 sums, then by at
   most that one rounding.
   Users of the 16-bit types: the Java FusedAttention accepts bfloat16 and float16 tensors (FusedAttentionTest
   checks them; the model itself runs in float32), kernel_check checks both types on the CPU and against CUDA,
   and benchmarks/gpu/check.sh runs those checks and times bfloat16 on a GPU.

   Memory. The CUDA forms allocate nothing: the key-split partials live in the caller's workspace. The CPU
   forms use per-thread scratch: one 64-byte aligned block per thread and purpose, grown (freed and allocated
   larger) when a call needs more, kept for the thread's next call and freed when the thread exits; allocation
   failure is MLA_ERR_OUT_OF_MEMORY. What each entry point adds is said at it. */
enum { MLA_F32 = 0, MLA_BF16 = 1, MLA_F16 = 2 };

/* 1. Fused relative-position attention over expanded K/V (MHA and expanded MLA).
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
   to [1,Tk]. CUDA supports dh <= 128; larger gives MLA_ERR_UNSUPPORTED.

   CPU memory: per-thread scratch of about 64 x (5 dh + 64) + 128 dh floats per thread. With Tq > 64 (several
   query tiles per head) the call also allocates, zeroes and before returning frees one transposed copy of the
   keys, B*H*dh*ceil64(Tk) floats (ceil64: rounded up to a multiple of 64), and of p, H*dh*ceil16(P + 256)
   floats, so that every query tile reads them in place. bfloat16 / float16: one more per-thread block (in the
   calling thread) holding float32 copies of q, k, v, p, u, w and out, dense. */
int mla_relpos_attention(int device, void* stream, int dtype,
    int B, int H, int Tq, int Tk, int dh, int P, int zero_row, int q_offset, float scale,
    const void* q, const int64_t* q_strides,
    const void* k, const int64_t* k_strides,
    const void* v, const int64_t* v_strides,
    const void* p, const int64_t* p_strides,
    const void* u, const void* w,
    const int32_t* lengths,
    void* out, const int64_t* out_strides);

/* 2. Fused latent attention (absorbed MLA). All heads share the latent c.
   qa [B,H,Tq,r] absorbed queries (qa = W_uk,h^T (q + u)), c [B,Tk,r] latent (strides batch, time),
   qw [B,H,Tq,dh] = q + w (for the BD term), p as above, out z [B,H,Tq,r].
   score[i,j] = (qa_i . c_j + qw_i . p[zero_row - delta]) * scale, mask/softmax as above; z_i = sum_j prob c_j.
   Strides, lengths and the row check follow entry point 1. CUDA supports r <= 1024 and dh <= 128.

   Key splits ("flash decoding"): for a few query rows over many keys, one GPU block per (batch, 2-4 head-query
   rows) leaves most of a GPU idle; with num_splits > 1 the keys are also split across blocks, each writing
   float32 partials (running max, sum and z) to `workspace`, which a second kernel merges. num_splits >= 1
   (else MLA_ERR_INVALID_ARGUMENT; CUDA supports num_splits <= 256, more is MLA_ERR_UNSUPPORTED); with
   num_splits = 1 the workspace is unused and may be NULL. For num_splits > 1 on CUDA the workspace is device
   memory of at least the bytes mla_latent_attention_plan gives for that count (else MLA_ERR_INVALID_ARGUMENT),
   owned by the caller and overwritten; calls that may overlap must not share one. The result does not depend
   on num_splits beyond the order of the float32 sums. On the CPU num_splits and workspace are ignored: the CPU
   kernel splits keys across its threads by itself.

   CPU memory: with Tq >= 32 and r <= 256 (many query rows, narrow latent) each (batch, head) runs entry point
   1's tiled kernel with keys = values = c: per-thread scratch as there (dh -> r for keys and values), and one
   transposed copy per call, allocated, zeroed and freed before returning, of c, B*r*ceil64(longest length)
   floats, and of p, H*dh*ceil16(P + 256) floats. Otherwise no per-call allocation: per-thread scratch of about
   min(B,8) x H x 8 x (r + 2) floats per thread, and when there are fewer work units than threads, so that the
   keys are split across threads, one block in the calling thread of units x splits times that (at most 64
   splits). bfloat16 / float16: as entry point 1, float32 copies of qa, c, qw, p and z. */
int mla_latent_attention(int device, void* stream, int dtype, int num_splits, void* workspace, int64_t workspace_bytes,
    int B, int H, int Tq, int Tk, int r, int dh, int P, int zero_row, int q_offset, float scale,
    const void* qa, const int64_t* qa_strides,
    const void* c, const int64_t* c_strides,
    const void* qw, const int64_t* qw_strides,
    const void* p, const int64_t* p_strides,
    const int32_t* lengths,
    void* z, const int64_t* z_strides);

/* Plans an mla_latent_attention call. *num_splits: 0 to get a split count that fills the current GPU (about two
   blocks per multiprocessor, at least 128 keys per split), or a count to size the workspace for; on return the
   count to pass, and *workspace_bytes the workspace it needs (0 for one split). On the CPU: always 1 and 0.
   MLA_ERR_INVALID_ARGUMENT for sizes < 1, NULL outputs or *num_splits < 0; MLA_ERR_UNSUPPORTED for a count
   above 256, or for CUDA in a CPU-only build. Allocates nothing. */
int mla_latent_attention_plan(int device, int B, int H, int Tq, int r, int Tk, int* num_splits,
    int64_t* workspace_bytes);

/* 3. Streaming caches: one cache per session (a stream of audio chunks), holding for each of `layers` layers
   the most recent frames, for attention of each new chunk over its left context.

   - Latent cache (absorbed MLA): per frame and layer l the latent c, r_l floats, shared by all heads. The
     latent size may differ per layer (per-layer rank allocation after an SVD conversion); a frame of context
     costs sum_l r_l floats, so the cache holds rows * sum_l r_l floats.
   - K/V cache (MHA, and expanded MLA, the baseline): per frame and layer K and V of every head, 2*H*dh floats
     (the same H and dh in every layer), rows * layers * 2*H*dh floats.

   Each layer keeps the frames appended since create or the last reset, up to max_frames of them: appending
   more overwrites the oldest (a ring), so the layer's window is always its last min(appended, max_frames)
   frames. Frames keep absolute positions 0, 1, 2, ... counted from create / reset, so relative positions
   stay exact past evictions. max_frames bounds the keys a query sees, the chunk itself included: for L frames
   of left context in chunks of C frames create with max_frames = L + C; for unlimited context, the longest
   stream. Memory grows with the stream, not with max_frames: create allocates min(max_frames, 128) rows per
   layer (host memory for MLA_DEVICE_CPU, device memory for MLA_DEVICE_CUDA), and an append whose window would
   not fit reallocates to min(max_frames, max(2 x rows, rows needed)) and moves the windows (on CUDA the old
   rows are freed with cudaFree, which waits for the device). So a stream holds at most
   min(max_frames, max(128, 2 x frames appended)) rows; append fails with MLA_ERR_OUT_OF_MEMORY, the cache
   unchanged, when the rows are not there. attend allocates no cache rows; its CPU kernels use the per-thread
   scratch of entry points 1-2, and a latent attend of Tq >= 32 queries with r_l <= 256 also entry point 2's
   per-call transposed copy of the windows' rows and of p (K/V attends make no per-call copy); on CUDA attend
   allocates nothing. A cache is not thread safe; different caches are independent. Nothing is global.

   Per chunk and layer: append the chunk's frames, then attend the chunk's queries. They sit at the last Tq
   positions of the window: with n = mla_cache_frames(cache, layer), query i is at position
   first + n - Tq + i and key j (j < n, 0 = oldest) at first + j, so delta = n - Tq + i - j lies in
   [-(Tq-1), n-1]. Every query sees the whole window, later frames of its own chunk included (chunked
   attention). This is entry point 1 or 2 over the window's keys with Tk = n, q_offset = n - Tq, no padding:
   p rows zero_row - delta must lie in [0,P) for every pair of every cache (e.g. P = n_max + Tq - 1 and
   zero_row = n_max - 1 for the longest window n_max), else MLA_ERR_INVALID_ARGUMENT.
   The attend calls take B caches (one session: B = 1; a batch of sessions: B >= 1, one stacked query
   tensor): alike caches (kind, device, layers, H, and the attended layer's size: r_l or dh; other layers'
   sizes may differ) whose windows may differ in length; each needs n >= Tq frames in the layer. Query and
   output tensors are strided as in entry points 1-2 (batch b belongs to caches[b]).

   CUDA caches: data pointers are device memory, `stream` orders the work (NULL: the default stream), and the
   host-side frame counts change at once, so use one stream per cache or synchronise. Keys split across GPU
   blocks as in entry point 2: mla_cache_attend_plan gives num_splits and the workspace bytes (device memory, caller
   owned, overwritten; not shared by calls that may overlap). On the CPU, num_splits is 1, no workspace.
   CUDA supports dh <= 128 and r_l <= 1024; the latent attend runs the same kernel as entry point 2. */
typedef struct mla_cache mla_cache;

/* Creates a cache in *cache (NULL on failure). layers >= 1; latent: r[l] >= 1 the latent size of layer l, for
   each of the `layers` layers (read during the call only; NULL r or any r[l] < 1: MLA_ERR_INVALID_ARGUMENT);
   K/V: H, dh >= 1, the same in every layer; 1 <= max_frames <= 2^30. MLA_ERR_OUT_OF_MEMORY when the memory is
   not there, and at once when max_frames full rows (4 * max_frames * sum_l r_l, or 4 * max_frames * layers *
   2*H*dh bytes) would exceed 2^62 bytes; MLA_ERR_UNSUPPORTED for CUDA in a CPU-only build. */
int mla_latent_cache_create(mla_cache** cache, int device, int layers, const int* r, int max_frames);
int mla_kv_cache_create(mla_cache** cache, int device, int layers, int H, int dh, int max_frames);

/* Frees the cache and its memory (NULL is fine). For CUDA, finish the work using it first. */
int mla_cache_destroy(mla_cache* cache);

/* Forgets every frame of every layer (positions restart at 0); keeps the memory. */
int mla_cache_reset(mla_cache* cache);

/* Bytes per frame of context, over all layers: 4 * sum_l r_l (latent) or 4 * layers * 2*H*dh (K/V). */
int64_t mla_cache_bytes_per_frame(const mla_cache* cache);
/* Bytes the cache holds now: rows allocated * mla_cache_bytes_per_frame, at most max_frames rows. -1 for NULL. */
int64_t mla_cache_bytes(const mla_cache* cache);
/* Frames in the layer's window, in [0, max_frames]; -1 for a NULL cache or a layer out of range. */
int mla_cache_frames(const mla_cache* cache, int layer);
/* Absolute position of the window's oldest frame (frames appended since reset minus frames); -1 as above. */
int64_t mla_cache_first_position(const mla_cache* cache, int layer);

/* Appends `frames` >= 1 frames after the layer's last one. Latent: frame f's r_l values (r_l: that layer's
   size) at c + f * c_stride.
   K/V: head h of frame f at k + f * k_strides[0] + h * k_strides[1] (dh contiguous values), V likewise, i.e.
   (time, head) strides of a [T, H, dh] or [H, T, dh] tensor. Strides >= 0. Of a chunk longer than
   max_frames only the last max_frames frames are kept (all of them count for positions). */
int mla_latent_cache_append_f32(mla_cache* cache, void* stream, int layer, int frames,
    const float* c, int64_t c_stride);
int mla_kv_cache_append_f32(mla_cache* cache, void* stream, int layer, int frames,
    const float* k, const int64_t* k_strides, const float* v, const int64_t* v_strides);

/* Plans an attend call over these caches (their windows now). *num_splits: 0 to get a split count that fills
   the GPU (about two blocks per multiprocessor, at least 128 keys per split), or a count to size the workspace
   for; on return the count to pass, and *workspace_bytes the workspace it needs (0 for one split).
   H: query heads (for K/V caches, the cache's H). On the CPU: always 1 and 0. */
int mla_cache_attend_plan(mla_cache* const* caches, int B, int layer, int H, int Tq,
    int* num_splits, int64_t* workspace_bytes);

/* Entry point 2 over latent caches, r = the attended layer's r_l: qa [B,H,Tq,r], qw [B,H,Tq,dh], p [P,H,dh]
   (strides row, head), z [B,H,Tq,r]; score[i,j] = (qa_i . c_j + qw_i . p[zero_row - delta]) * scale,
   z_i = sum_j softmax_j c_j.
   On the CPU each cached frame is read from memory once for all heads and up to 8 queries (a query tile). */
int mla_latent_cache_attend_f32(void* stream, int num_splits, void* workspace, int64_t workspace_bytes,
    mla_cache* const* caches, int B, int layer, int H, int Tq, int dh, int P, int zero_row, float scale,
    const float* qa, const int64_t* qa_strides,
    const float* qw, const int64_t* qw_strides,
    const float* p, const int64_t* p_strides,
    float* z, const int64_t* z_strides);

/* Entry point 1 over K/V caches (H, dh from the cache): q [B,H,Tq,dh], p [P,H,dh], u, w [H,dh] contiguous,
   out [B,H,Tq,dh]; score[i,j] = ((q_i + u).k_j + (q_i + w).p[zero_row - delta]) * scale, out_i = sum_j softmax_j v_j. */
int mla_kv_cache_attend_f32(void* stream, int num_splits, void* workspace, int64_t workspace_bytes,
    mla_cache* const* caches, int B, int layer, int Tq, int P, int zero_row, float scale,
    const float* q, const int64_t* q_strides,
    const float* p, const int64_t* p_strides,
    const float* u, const float* w,
    float* out, const int64_t* out_strides);

/* 4. Dense layer on the CPU: y = x W^T + b, float32.
   x [M,K] with rows ldx >= K elements apart, w [N,K] contiguous (a torch Linear's weight as stored), b [N] or NULL,
   y [M,N] with rows ldy >= N apart (overwritten; must not overlap x, w or b). Each y[m][n] is the float32 dot product
   of row m of x and row n of w, summed in 16-, 8- or 4-lane partial sums (the CPU variant) over blocks of 1024
   columns, plus b[n]. W is read in place, never copied: for a few hundred rows or fewer this is faster than a BLAS,
   which packs W on every call. Threads (mla_set_num_threads) split the rows of w, at most one per 2^20
   multiply-adds. Allocates nothing.
   MLA_ERR_INVALID_ARGUMENT for M, N or K < 1, a NULL x, w or y, or ldx < K or ldy < N. */
int mla_linear_f32(int M, int N, int K, const float* x, int64_t ldx, const float* w, const float* b, float* y,
    int64_t ldy);

#ifdef __cplusplus
}
#endif

#endif /* MHA2MLA_H */
