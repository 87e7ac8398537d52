// The streams of cache_streams.h.
#include "cache_streams.h"

#include <cstdio>

namespace kcheck {

StreamData make_stream(const StreamCase& sc, Rng& rng) {
    StreamData d;
    d.sc = sc;
    d.Tmax = sc.preroll * (sc.sessions - 1) + sc.frames;
    for (int l = 0; l < sc.layers; ++l) {
        const int D = d.out_dim(l), width = d.key_width(l);
        for (int b = 0; b < sc.sessions; ++b) {
            d.keys.push_back(rng.fill(size_t(d.total(b)) * width, 1.0f));
            d.values.push_back(d.latent() ? std::vector<float>() : rng.fill(size_t(d.total(b)) * width, 1.0f));
        }
        d.queries.push_back(rng.fill(size_t(sc.sessions) * d.Tmax * sc.H * D, d.latent() ? 0.5f : 2.0f));
        d.qw.push_back(d.latent() ? rng.fill(size_t(sc.sessions) * d.Tmax * sc.H * sc.dh, 2.0f) : std::vector<float>());
    }
    // One p table for every window: delta in [-(chunk-1), max_frames-1], with 2 spare rows at each end.
    d.zero_row = sc.max_frames - 1 + 2;
    d.P = d.zero_row + sc.chunk + 2;
    d.p = rng.fill(size_t(d.P) * sc.H * sc.dh, 1.0f);
    d.u = rng.fill(size_t(sc.H) * sc.dh, 0.5f);
    d.w = rng.fill(size_t(sc.H) * sc.dh, 0.5f);
    d.scale = float(1.0 / std::sqrt(double(sc.dh)));
    return d;
}

std::string describe(const StreamCase& sc) {
    // the size: dh=24, r=40, or per layer r=8/24/5
    std::string size = sc.kind == CacheKind::Latent ? "r=" : "dh=";
    if (sc.kind == CacheKind::Latent && !sc.rs.empty())
        for (size_t l = 0; l < sc.rs.size(); ++l) size += (l > 0 ? "/" : "") + std::to_string(sc.rs[l]);
    else
        size += std::to_string(sc.kind == CacheKind::Latent ? sc.r : sc.dh);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s: L=%d H=%d %s T=%d chunk=%d window=%d B=%d", sc.name, sc.layers, sc.H,
                  size.c_str(), sc.frames, sc.chunk, sc.max_frames, sc.sessions);
    return buf;
}

int stream_reference(const StreamData& d, std::vector<float>& out) {
    const StreamCase& sc = d.sc;
    const int B = sc.sessions, H = sc.H, dh = sc.dh;
    const int64_t ps[2] = {int64_t(H) * dh, dh};
    int status = MLA_OK;
    out.clear();
    for_each_chunk(sc, [&](int t0, int s) {
        for (int l = 0; l < sc.layers; ++l)
            for (int b = 0; b < B; ++b) {
                const int D = d.out_dim(l), r = d.r_of(l);
                const int end = b * sc.preroll + t0 + s;  // frames appended once this chunk is in
                const int n = std::min(end, sc.max_frames), first = end - n;
                const size_t at = out.size();
                out.resize(at + size_t(H) * s * D, NAN);
                const int64_t os[3] = {int64_t(H) * s * D, int64_t(s) * D, D};
                const int64_t qs[3] = {0, D, int64_t(H) * D};
                const int64_t qws[3] = {0, dh, int64_t(H) * dh};
                const int64_t row = d.query_row(b, end - s);
                const std::vector<float>& keys = d.keys[size_t(l) * B + b];
                int st;
                if (d.latent()) {
                    const int64_t cs[2] = {0, r};
                    st = mla_latent_attention(MLA_DEVICE_CPU, nullptr, MLA_F32, 1, nullptr, 0, 1, H, s, n, r, dh,
                                              d.P, d.zero_row, n - s, d.scale, d.queries[l].data() + row * H * D, qs,
                                              keys.data() + int64_t(first) * r, cs, d.qw[l].data() + row * H * dh,
                                              qws, d.p.data(), ps, nullptr, out.data() + at, os);
                } else {
                    const int64_t ks[3] = {0, dh, int64_t(H) * dh};
                    const int64_t k0 = int64_t(first) * H * dh;
                    st = mla_relpos_attention(MLA_DEVICE_CPU, nullptr, MLA_F32, 1, H, s, n, dh, d.P, d.zero_row,
                                              n - s, d.scale, d.queries[l].data() + row * H * D, qs, keys.data() + k0,
                                              ks, d.values[size_t(l) * B + b].data() + k0, ks, d.p.data(), ps,
                                              d.u.data(), d.w.data(), nullptr, out.data() + at, os);
                }
                if (status == MLA_OK) status = st;
            }
    });
    return status;
}

std::vector<StreamCase> stream_cases() {
    std::vector<StreamCase> cases;
    for (CacheKind kind : {CacheKind::Latent, CacheKind::KeyValue})
        for (int chunk : {1, 4, 16})
            for (int window : {0, 1}) {
                // window 0: the whole utterance fits; 1: a left context of 21 frames forces evictions
                const int frames = 90;
                const int max_frames = window == 0 ? frames : 21 + chunk;
                cases.push_back({window == 0 ? "full context" : "evicting", kind, 2, 3, 24, 40, frames, chunk,
                                 max_frames, 1, 0});
            }
    // Rings that grow as frames arrive (128 rows at first, doubling): past 128, 256 and 512 frames with windows
    // that never fill, and into eviction once the ring reaches max_frames (here at 300, not a power of two).
    for (CacheKind kind : {CacheKind::Latent, CacheKind::KeyValue}) {
        cases.push_back({"growing", kind, 2, 2, 8, 16, 600, 7, 4096, 1, 0});
        cases.push_back({"growing, evicting", kind, 2, 2, 8, 16, 700, 5, 300, 1, 0});
        // sessions of 0, 200 and 400 frames appended in one call each, then chunks: windows grow unevenly
        cases.push_back({"growing batch", kind, 1, 2, 8, 16, 150, 3, 500, 3, 200});
    }
    // Batches of sessions whose windows differ (prerolls, one longer than the window in one append), across
    // the kWindowsPerLaunch grouping (35 caches).
    cases.push_back({"batch", CacheKind::Latent, 1, 4, 16, 48, 30, 4, 40, 3, 29});
    cases.push_back({"batch", CacheKind::KeyValue, 1, 4, 16, 0, 30, 4, 40, 3, 29});
    cases.push_back({"batch of 35", CacheKind::Latent, 1, 2, 8, 16, 9, 3, 20, 35, 1});
    cases.push_back({"batch of 35", CacheKind::KeyValue, 1, 2, 8, 0, 9, 3, 20, 35, 1});
    // Layers of different latent sizes (per-layer rank allocation): every layer's ring at its own offset and
    // width, through growth past 128 rows, into eviction, and in a batch whose windows differ.
    const std::vector<int> mixed = {8, 24, 5};
    cases.push_back({"mixed r, growing", CacheKind::Latent, 3, 2, 8, 0, 300, 7, 4096, 1, 0, mixed});
    cases.push_back({"mixed r, growing, evicting", CacheKind::Latent, 3, 2, 8, 0, 400, 9, 200, 1, 0, mixed});
    cases.push_back({"mixed r, batch", CacheKind::Latent, 3, 2, 8, 0, 60, 4, 300, 3, 100, mixed});
    return cases;
}

}  // namespace kcheck
