// Streams for the cache checks and benchmarks (entry point 3). Sessions stream random utterances chunk by chunk
// through caches; every chunk's output must equal entry point 1 / 2 over the window's keys taken straight from the
// utterance (Tk = window frames, q_offset = Tk - chunk), which the rel-pos and latent checks hold against the naive
// reference.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "reference.h"

namespace kcheck {

enum class CacheKind { Latent, KeyValue };

// The latent sizes mla_latent_cache_create takes: r in each of `layers` layers.
inline std::vector<int> same_r(int layers, int r) { return std::vector<int>(size_t(layers), r); }

struct StreamCase {
    const char* name;
    CacheKind kind;
    int layers, H, dh, r;  // r: latent width (latent caches only)
    int frames;            // frames each session streams after its preroll
    int chunk;             // frames per chunk; the last one may be shorter
    int max_frames;        // cache window
    int sessions;          // caches attended in one call
    int preroll;           // session b first appends b * preroll frames in one call (may exceed max_frames)
    std::vector<int> rs{};  // latent: r of each layer, where layers differ (empty: r in every layer)
};

// Per layer: every frame's keys (c [T, r_l], or k and v [T, H, dh]) for each session (index layer * B + b), and
// the queries of all sessions in one buffer [B, Tmax, H, D_l] (qa or q; qw [B, Tmax, H, dh] for latent caches),
// Tmax = preroll * (B - 1) + frames. Session b's frame f is row b * Tmax + f, so a step's chunk rows of all
// sessions sit one fixed stride apart: the batched attend reads them in place. Shared: p [P, H, dh], u, w.
struct StreamData {
    StreamCase sc;
    int Tmax, P, zero_row;
    float scale;
    std::vector<std::vector<float>> keys, values, queries, qw;
    std::vector<float> p, u, w;
    bool latent() const { return sc.kind == CacheKind::Latent; }
    int total(int b) const { return b * sc.preroll + sc.frames; }
    int r_of(int l) const { return sc.rs.empty() ? sc.r : sc.rs[size_t(l)]; }  // layer l's latent size
    std::vector<int> latent_sizes() const {
        std::vector<int> r;
        for (int l = 0; l < sc.layers; ++l) r.push_back(r_of(l));
        return r;
    }
    int key_width(int l) const { return latent() ? r_of(l) : sc.H * sc.dh; }
    int out_dim(int l) const { return latent() ? r_of(l) : sc.dh; }  // D_l
    int max_out_dim() const {
        int D = 0;
        for (int l = 0; l < sc.layers; ++l) D = std::max(D, out_dim(l));
        return D;
    }
    int64_t query_row(int b, int f) const { return int64_t(b) * Tmax + f; }  // in units of H * D floats
};

StreamData make_stream(const StreamCase& sc, Rng& rng);

std::string describe(const StreamCase& sc);

// The steps of a stream: chunk start t0 (frames after the preroll) and size s.
template <class F>
void for_each_chunk(const StreamCase& sc, F f) {
    for (int t0 = 0; t0 < sc.frames; t0 += sc.chunk) f(t0, std::min(sc.chunk, sc.frames - t0));
}

// Reference outputs: per step, per layer, dense [B, H, s, D_l], from entry points 1 / 2 over each window.
int stream_reference(const StreamData& d, std::vector<float>& out);

// Host memory for stream_through_caches; the CUDA checks pass device memory with the same members.
struct HostMemory {
    int device = MLA_DEVICE_CPU;
    void* stream = nullptr;
    std::vector<std::vector<float>> held;
    const float* put(const std::vector<float>& x) {  // a copy, like a device upload (moves keep the data pointer)
        held.push_back(x);
        return held.back().data();
    }
    float* buffer(size_t n) {
        held.emplace_back(n, NAN);
        return held.back().data();
    }
    void fetch(float* dst, const float* src, size_t n) { std::memcpy(dst, src, n * sizeof(float)); }
    void poison(float* x, size_t n) { std::fill(x, x + n, NAN); }
    void* workspace(int64_t) { return nullptr; }
};

// Streams every session of d through caches in mem: per step and layer, each session appends its chunk, then
// one attend covers all sessions. Outputs as stream_reference. splits: 0 = the plan's count. attend_ms: time
// spent in attend calls.
template <class Mem>
int stream_through_caches(const StreamData& d, Mem& mem, int splits, std::vector<float>& out, double& attend_ms) {
    const StreamCase& sc = d.sc;
    const int B = sc.sessions, H = sc.H, dh = sc.dh;
    const std::vector<int> r = d.latent_sizes();
    std::vector<mla_cache*> caches(B, nullptr);
    int status = MLA_OK;
    for (int b = 0; b < B && status == MLA_OK; ++b)
        status = d.latent() ? mla_latent_cache_create(&caches[b], mem.device, sc.layers, r.data(), sc.max_frames)
                            : mla_kv_cache_create(&caches[b], mem.device, sc.layers, H, dh, sc.max_frames);
    std::vector<const float*> keys, values, queries, qw_rows;
    for (size_t x = 0; x < d.keys.size(); ++x) {
        keys.push_back(mem.put(d.keys[x]));
        values.push_back(d.latent() ? nullptr : mem.put(d.values[x]));
    }
    for (int l = 0; l < sc.layers; ++l) {
        queries.push_back(mem.put(d.queries[l]));
        qw_rows.push_back(d.latent() ? mem.put(d.qw[l]) : nullptr);
    }
    const float* p = mem.put(d.p);
    const float* u = mem.put(d.u);
    const float* w = mem.put(d.w);
    float* z = mem.buffer(size_t(B) * H * sc.chunk * d.max_out_dim());
    const int64_t kv_strides[2] = {int64_t(H) * dh, dh};  // time, head of [T, H, dh]
    auto append = [&](mla_cache* cache, int l, int b, int f0, int frames) {
        const size_t x = size_t(l) * B + b;
        const int width = d.key_width(l);
        if (d.latent())
            return mla_latent_cache_append_f32(cache, mem.stream, l, frames, keys[x] + int64_t(f0) * width, width);
        return mla_kv_cache_append_f32(cache, mem.stream, l, frames, keys[x] + int64_t(f0) * width, kv_strides,
                                       values[x] + int64_t(f0) * width, kv_strides);
    };
    for (int l = 0; l < sc.layers && status == MLA_OK; ++l)
        for (int b = 1; b < B && status == MLA_OK; ++b)
            if (sc.preroll > 0) status = append(caches[b], l, b, 0, b * sc.preroll);

    out.clear();
    attend_ms = 0.0;
    const int64_t ps[2] = {int64_t(H) * dh, dh};
    for_each_chunk(sc, [&](int t0, int s) {
        for (int l = 0; l < sc.layers && status == MLA_OK; ++l) {
            for (int b = 0; b < B && status == MLA_OK; ++b) status = append(caches[b], l, b, b * sc.preroll + t0, s);
            if (status != MLA_OK) break;
            const int D = d.out_dim(l);  // this layer's r, or dh
            // Session b's chunk queries are rows b * (Tmax + preroll) + t0 .. : batch stride (Tmax + preroll) rows.
            const int64_t row = d.query_row(0, t0), batch_rows = int64_t(d.Tmax) + sc.preroll;
            const int64_t qs[3] = {batch_rows * H * D, D, int64_t(H) * D};
            const int64_t qws[3] = {batch_rows * H * dh, dh, int64_t(H) * dh};
            const int64_t zs[3] = {int64_t(H) * s * D, int64_t(s) * D, D};
            int n = splits;
            int64_t bytes = 0;
            status = mla_cache_attend_plan(caches.data(), B, l, H, s, &n, &bytes);
            if (status != MLA_OK) break;
            void* ws = mem.workspace(bytes);
            mem.poison(z, size_t(B) * H * s * D);  // NaN until written: a skipped output fails
            const double t = now_ms();
            if (d.latent())
                status = mla_latent_cache_attend_f32(mem.stream, n, ws, bytes, caches.data(), B, l, H, s, dh, d.P,
                                                     d.zero_row, d.scale, queries[l] + row * H * D, qs,
                                                     qw_rows[l] + row * H * dh, qws, p, ps, z, zs);
            else
                status = mla_kv_cache_attend_f32(mem.stream, n, ws, bytes, caches.data(), B, l, s, d.P, d.zero_row,
                                                 d.scale, queries[l] + row * H * D, qs, p, ps, u, w, z, zs);
            const size_t at = out.size();
            out.resize(at + size_t(B) * H * s * D);
            mem.fetch(out.data() + at, z, size_t(B) * H * s * D);
            attend_ms += now_ms() - t;
        }
    });
    // The positions the caches report.
    for (int b = 0; b < B && status == MLA_OK; ++b) {
        const int64_t total = d.total(b);
        const int frames = int(std::min<int64_t>(total, sc.max_frames));
        for (int l = 0; l < sc.layers; ++l)
            if (mla_cache_frames(caches[b], l) != frames || mla_cache_first_position(caches[b], l) != total - frames)
                status = MLA_ERR_INVALID_ARGUMENT;
    }
    for (mla_cache* c : caches) mla_cache_destroy(c);
    return status;
}

// The CPU streaming cases: chunk sizes, evictions, growing rings, batches, layers of different r.
std::vector<StreamCase> stream_cases();

}  // namespace kcheck
