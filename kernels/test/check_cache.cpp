// Entry point 3, the streaming caches: lifecycle, growth and byte counts, argument checks, layers of different
// latent sizes, and streams through CPU caches against entry points 1 / 2, through CUDA caches against CPU caches.
#include <cmath>
#include <cstdio>
#include <string>

#include "cache_streams.h"
#include "checks.h"
#include "cuda_buffers.h"

namespace kcheck {

// Streaming through CPU caches equals entry points 1 / 2 over the same windows.
void check_streaming_cpu(const char* variant) {
    Rng rng(4321);
    for (const StreamCase& sc : stream_cases()) {
        const StreamData d = make_stream(sc, rng);
        std::vector<float> ref, got;
        int status = stream_reference(d, ref);
        HostMemory mem;
        double ms = 0.0;
        if (status == MLA_OK) status = stream_through_caches(d, mem, 0, got, ms);
        report("cpu", sc.kind == CacheKind::Latent ? "lcache" : "kvcache", variant, describe(sc), status,
               max_abs_diff(got, ref), ms);
    }
}

// Reset forgets the frames (positions restart), a chunk longer than the window keeps its last frames, and the
// memory queries report per-frame and total bytes.
void check_cache_lifecycle() {
    Rng rng(11);
    const int r = 8, window = 5;
    mla_cache* c = nullptr;
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, 3, same_r(3, r).data(), window) == MLA_OK && c != nullptr,
           "latent cache created");
    expect(mla_cache_bytes_per_frame(c) == 3 * r * 4 && mla_cache_bytes(c) == 3 * r * 4 * window,
           "latent cache bytes: 4 * layers * r per frame");
    const std::vector<float> x = rng.fill(size_t(12) * r, 1.0f);
    expect(mla_cache_frames(c, 1) == 0 && mla_cache_first_position(c, 1) == 0, "a new cache is empty");
    expect(mla_latent_cache_append_f32(c, nullptr, 1, 12, x.data(), r) == MLA_OK, "append longer than the window");
    expect(mla_cache_frames(c, 1) == window && mla_cache_first_position(c, 1) == 12 - window,
           "a long chunk keeps its last frames and counts all of them");
    expect(mla_cache_frames(c, 0) == 0 && mla_cache_frames(c, 2) == 0, "layers count their own frames");
    expect(mla_cache_reset(c) == MLA_OK && mla_cache_frames(c, 1) == 0 && mla_cache_first_position(c, 1) == 0,
           "reset forgets every frame");
    mla_cache_destroy(c);
    c = nullptr;
    // The ring grows with the frames appended, not with max_frames: 128 rows at first, then doubling, capped.
    const int64_t per_frame = 2 * r * 4;
    const std::vector<float> y = rng.fill(size_t(300) * r, 1.0f);
    auto rows = [&] { return mla_cache_bytes(c) / per_frame; };
    auto append = [&](int layer, int frames) { return mla_latent_cache_append_f32(c, nullptr, layer, frames, y.data(), r); };
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, 2, same_r(2, r).data(), 1 << 30) == MLA_OK && rows() == 128,
           "a cache of 2^30 frames starts with 128 rows");
    expect(append(0, 100) == MLA_OK && rows() == 128, "100 frames fit in the first rows");
    expect(append(0, 29) == MLA_OK && rows() == 256, "frame 129 doubles the ring");
    expect(append(1, 300) == MLA_OK && rows() == 512, "300 frames at once double it again (256 -> 512 rows)");
    expect(mla_cache_frames(c, 0) == 129 && mla_cache_frames(c, 1) == 300, "growing keeps every layer's frames");
    mla_cache_destroy(c);
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, 2, same_r(2, r).data(), 200) == MLA_OK,
           "latent cache of 200 frames");
    expect(append(0, 300) == MLA_OK && rows() == 200 && mla_cache_frames(c, 0) == 200 &&
               mla_cache_first_position(c, 0) == 100,
           "growth stops at max_frames");
    mla_cache_destroy(c);
    c = nullptr;
    expect(mla_kv_cache_create(&c, MLA_DEVICE_CPU, 24, 16, 64, 10) == MLA_OK, "K/V cache created");
    expect(mla_cache_bytes_per_frame(c) == 24 * 2 * 1024 * 4, "K/V cache bytes: 4 * layers * 2*H*dh per frame");
    mla_cache_destroy(c);
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, 24, same_r(24, 512).data(), 10) == MLA_OK &&
               mla_cache_bytes_per_frame(c) == 24 * 512 * 4,
           "flagship latent cache is 4x smaller per frame than K/V at r = d/2");
    mla_cache_destroy(c);
    std::printf("cpu  cache   reset, long chunks, growth, byte counts: %s\n", g_failures == 0 ? "ok" : "FAIL");
}

// Bad cache arguments come back as status codes.
void check_cache_arguments() {
    Rng rng(13);
    const int H = 2, dh = 8, r = 16, window = 6;
    mla_cache *lat = nullptr, *kv = nullptr, *other = nullptr, *none = nullptr;
    const std::vector<int> r1 = same_r(1, r), r2 = same_r(2, r), r2_other = same_r(2, r + 1);
    expect(mla_latent_cache_create(nullptr, MLA_DEVICE_CPU, 1, r1.data(), window) == MLA_ERR_INVALID_ARGUMENT,
           "create without out pointer");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 0, r1.data(), window) == MLA_ERR_INVALID_ARGUMENT &&
               none == nullptr,
           "create with 0 layers");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 1, same_r(1, 0).data(), window) == MLA_ERR_INVALID_ARGUMENT,
           "create with r = 0");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 1, r1.data(), 0) == MLA_ERR_INVALID_ARGUMENT,
           "create with max_frames = 0");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 1, r1.data(), (1 << 30) + 1) == MLA_ERR_INVALID_ARGUMENT,
           "create with max_frames > 2^30");
    expect(mla_kv_cache_create(&none, 7, 1, H, dh, window) == MLA_ERR_INVALID_ARGUMENT, "create on an unknown device");
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, 1 << 20, same_r(1 << 20, 1 << 20).data(), 1 << 20) ==
                   MLA_ERR_OUT_OF_MEMORY &&
               none == nullptr,
           "create beyond memory is MLA_ERR_OUT_OF_MEMORY");
    expect(mla_latent_cache_create(&lat, MLA_DEVICE_CPU, 2, r2.data(), window) == MLA_OK, "latent create");
    expect(mla_kv_cache_create(&kv, MLA_DEVICE_CPU, 2, H, dh, window) == MLA_OK, "K/V create");
    expect(mla_latent_cache_create(&other, MLA_DEVICE_CPU, 2, r2_other.data(), window) == MLA_OK,
           "second latent create");

    const std::vector<float> c = rng.fill(size_t(window) * r, 1.0f), k = rng.fill(size_t(window) * H * dh, 1.0f);
    const int64_t kvs[2] = {int64_t(H) * dh, dh}, bad_kvs[2] = {-1, dh};
    expect(mla_latent_cache_append_f32(kv, nullptr, 0, 1, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "latent append to a K/V cache");
    expect(mla_kv_cache_append_f32(lat, nullptr, 0, 1, k.data(), kvs, k.data(), kvs) == MLA_ERR_INVALID_ARGUMENT,
           "K/V append to a latent cache");
    expect(mla_latent_cache_append_f32(lat, nullptr, 2, 1, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "append to layer 2 of 2");
    expect(mla_latent_cache_append_f32(lat, nullptr, -1, 1, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "append to layer -1");
    expect(mla_latent_cache_append_f32(lat, nullptr, 0, 0, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "append of 0 frames");
    expect(mla_latent_cache_append_f32(lat, nullptr, 0, 1, nullptr, r) == MLA_ERR_INVALID_ARGUMENT, "append of null");
    expect(mla_latent_cache_append_f32(lat, nullptr, 0, 1, c.data(), -r) == MLA_ERR_INVALID_ARGUMENT, "negative stride");
    expect(mla_kv_cache_append_f32(kv, nullptr, 0, 1, k.data(), bad_kvs, k.data(), kvs) == MLA_ERR_INVALID_ARGUMENT,
           "negative K stride");
    expect(mla_latent_cache_append_f32(nullptr, nullptr, 0, 1, c.data(), r) == MLA_ERR_INVALID_ARGUMENT, "append to NULL");
    expect(mla_cache_frames(lat, 0) == 0 && mla_cache_frames(lat, 2) == -1 && mla_cache_frames(nullptr, 0) == -1,
           "failed appends add nothing; bad layers give -1");
    expect(mla_cache_bytes(nullptr) == -1 && mla_cache_bytes_per_frame(nullptr) == -1 &&
               mla_cache_first_position(nullptr, 0) == -1,
           "queries of NULL give -1");

    // A latent attend of 3 queries over 4 frames.
    const int Tq = 3, frames = 4, P = window + Tq, zero_row = window - 1;
    for (mla_cache* x : {lat, other}) expect(mla_latent_cache_append_f32(x, nullptr, 0, frames, c.data(), 0) == MLA_OK, "append");
    const std::vector<float> qa = rng.fill(size_t(H) * Tq * r, 0.5f), qw = rng.fill(size_t(H) * Tq * dh, 1.0f);
    const std::vector<float> p = rng.fill(size_t(P) * H * dh, 1.0f);
    std::vector<float> z(size_t(H) * Tq * r);
    const int64_t qas[3] = {int64_t(H) * Tq * r, int64_t(Tq) * r, r}, qws[3] = {int64_t(H) * Tq * dh, int64_t(Tq) * dh, dh};
    const int64_t ps[2] = {int64_t(H) * dh, dh};
    int64_t zs[3] = {qas[0], qas[1], qas[2]};
    mla_cache* one[1] = {lat};
    auto attend = [&](mla_cache* const* cs, int B, int layer, int tq, int np, int zr, float scale, int splits) {
        return mla_latent_cache_attend_f32(nullptr, splits, nullptr, 0, cs, B, layer, H, tq, dh, np, zr, scale,
                                           qa.data(), qas, qw.data(), qws, p.data(), ps, z.data(), zs);
    };
    expect(attend(one, 1, 0, Tq, P, zero_row, 0.3f, 1) == MLA_OK, "valid latent cache attend");
    expect(attend(one, 1, 0, Tq, P - 1, zero_row, 0.3f, 1) == MLA_OK, "p rows beyond the window are not needed");
    expect(attend(one, 1, 0, Tq, zero_row + Tq - 1, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT,
           "p without the row for delta = -(Tq-1)");
    expect(attend(one, 1, 0, Tq, P, frames - 2, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT,
           "zero_row without the row for delta = frames-1");
    expect(attend(one, 1, 0, frames + 1, P + 2, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT,
           "more queries than frames in the window");
    expect(attend(one, 1, 1, 1, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "attend over an empty layer");
    expect(attend(one, 1, 2, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "attend layer out of range");
    expect(attend(one, 0, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "attend B = 0");
    expect(attend(nullptr, 1, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "attend without caches");
    expect(attend(one, 1, 0, Tq, P, zero_row, NAN, 1) == MLA_ERR_INVALID_ARGUMENT, "attend NaN scale");
    expect(attend(one, 1, 0, Tq, P, zero_row, 0.3f, 0) == MLA_ERR_INVALID_ARGUMENT, "attend num_splits 0");
    mla_cache* mixed[2] = {lat, other};
    expect(attend(mixed, 2, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "caches of different r");
    mla_cache* kinds[2] = {lat, kv};
    expect(attend(kinds, 2, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "caches of different kinds");
    mla_cache* with_null[2] = {lat, nullptr};
    expect(attend(with_null, 2, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "a NULL cache in the batch");
    zs[2] = 0;
    expect(attend(one, 1, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "output stride 0");
    zs[2] = r;
    mla_cache* kv1[1] = {kv};
    expect(attend(kv1, 1, 0, Tq, P, zero_row, 0.3f, 1) == MLA_ERR_INVALID_ARGUMENT, "latent attend over a K/V cache");
    std::vector<float> q(size_t(H) * Tq * dh), out(q.size()), uw(size_t(H) * dh, 0.1f);
    expect(mla_kv_cache_append_f32(kv, nullptr, 0, frames, k.data(), kvs, k.data(), kvs) == MLA_OK, "K/V append");
    expect(mla_kv_cache_attend_f32(nullptr, 1, nullptr, 0, kv1, 1, 0, Tq, P, zero_row, 0.3f, q.data(), qws, p.data(), ps,
                                   uw.data(), uw.data(), out.data(), qws) == MLA_OK,
           "valid K/V cache attend");
    expect(mla_kv_cache_attend_f32(nullptr, 1, nullptr, 0, kv1, 1, 0, Tq, P, zero_row, 0.3f, q.data(), qws, p.data(), ps,
                                   nullptr, uw.data(), out.data(), qws) == MLA_ERR_INVALID_ARGUMENT,
           "K/V cache attend without u");
    expect(mla_kv_cache_attend_f32(nullptr, 1, nullptr, 0, one, 1, 0, Tq, P, zero_row, 0.3f, q.data(), qws, p.data(), ps,
                                   uw.data(), uw.data(), out.data(), qws) == MLA_ERR_INVALID_ARGUMENT,
           "K/V attend over a latent cache");
    int splits = 0;
    int64_t bytes = -1;
    expect(mla_cache_attend_plan(one, 1, 0, H, Tq, &splits, &bytes) == MLA_OK && splits == 1 && bytes == 0,
           "CPU plan: one split, no workspace");
    splits = 0;
    expect(mla_cache_attend_plan(kv1, 1, 0, H + 1, Tq, &splits, &bytes) == MLA_ERR_INVALID_ARGUMENT,
           "plan with the wrong head count for a K/V cache");
    expect(mla_cache_attend_plan(one, 1, 0, H, frames + 1, &splits, &bytes) == MLA_ERR_INVALID_ARGUMENT,
           "plan with more queries than frames");
    expect(mla_cache_reset(nullptr) == MLA_ERR_INVALID_ARGUMENT && mla_cache_destroy(nullptr) == MLA_OK,
           "reset(NULL) is an error, destroy(NULL) is not");
    for (mla_cache* x : {lat, kv, other}) mla_cache_destroy(x);
    std::printf("cpu  cache   checked status codes of bad cache arguments: %s\n", g_failures == 0 ? "ok" : "FAIL");
}

// Layers of different latent sizes (per-layer rank allocation): create checks every r[l], the byte counts sum
// the layers' sizes, each layer's window attends like entry point 2 over its frames (r = that layer's r) after
// growth past 128 rows and after eviction, and a batch attend needs its caches to agree on the attended layer's
// r. (The "mixed r" stream cases also stream such caches chunk by chunk, in batches.)
void check_cache_mixed_sizes() {
    Rng rng(17);
    const int H = 2, dh = 8, layers = 3, window = 300, max_tq = 4;
    const std::vector<int> r = {8, 24, 5}, r_other = {8, 16, 5};  // r_other differs in layer 1 only
    const int64_t per_frame = 4 * (8 + 24 + 5);
    mla_cache *c = nullptr, *other = nullptr, *none = nullptr;
    expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, layers, nullptr, window) == MLA_ERR_INVALID_ARGUMENT &&
               none == nullptr,
           "create with r = NULL");
    for (int bad : {0, -3}) {
        const std::vector<int> r_bad = {8, bad, 5};
        expect(mla_latent_cache_create(&none, MLA_DEVICE_CPU, layers, r_bad.data(), window) ==
                       MLA_ERR_INVALID_ARGUMENT &&
                   none == nullptr,
               "create with r[1] < 1");
    }
    expect(mla_latent_cache_create(&c, MLA_DEVICE_CPU, layers, r.data(), window) == MLA_OK && c != nullptr,
           "latent cache of r = 8, 24, 5 created");
    expect(mla_cache_bytes_per_frame(c) == per_frame && mla_cache_bytes(c) == per_frame * 128,
           "mixed r cache bytes: 4 * (8 + 24 + 5) per frame, 128 rows at first");

    // Frame f of layer l: x[l][f * r_l ..]. P rows cover delta in [-(max_tq-1), window-1].
    const int total = 380, zero_row = window - 1 + max_tq, P = zero_row + max_tq;
    std::vector<std::vector<float>> x;
    for (int l = 0; l < layers; ++l) x.push_back(rng.fill(size_t(total) * r[size_t(l)], 1.0f));
    // queries for up to 2 caches: qa [2,H,Tq,r_l] (r_l <= 24), qw [2,H,max_tq,dh]
    const std::vector<float> qa = rng.fill(size_t(2) * H * max_tq * 24, 0.5f);
    const std::vector<float> qw = rng.fill(size_t(2) * H * max_tq * dh, 1.0f);
    const std::vector<float> p = rng.fill(size_t(P) * H * dh, 1.0f);
    const int64_t ps[2] = {int64_t(H) * dh, dh}, qws[3] = {int64_t(H) * max_tq * dh, int64_t(max_tq) * dh, dh};
    const float scale = 0.3f;
    std::vector<float> z, ref;
    // Tq queries of layer l ([1,H,Tq,r_l], contiguous) over the caches' windows into z.
    auto attend = [&](mla_cache* const* cs, int B, int l, int Tq) {
        const int64_t rl = r[size_t(l)], qas[3] = {H * Tq * rl, Tq * rl, rl};
        z.assign(size_t(B) * H * Tq * rl, NAN);
        return mla_latent_cache_attend_f32(nullptr, 1, nullptr, 0, cs, B, l, H, Tq, dh, P, zero_row, scale,
                                           qa.data(), qas, qw.data(), qws, p.data(), ps, z.data(), qas);
    };
    // Every layer of c attended against entry point 2 over the same frames, taken from x.
    auto check_layers = [&](const char* when) {
        for (int l = 0; l < layers; ++l) {
            const int rl = r[size_t(l)], n = mla_cache_frames(c, l), Tq = std::min(max_tq, n);
            const int64_t first = mla_cache_first_position(c, l);
            const int64_t qas[3] = {int64_t(H) * Tq * rl, int64_t(Tq) * rl, rl}, cs[2] = {0, rl};
            mla_cache* one[1] = {c};
            int status = attend(one, 1, l, Tq);
            ref.assign(z.size(), NAN);
            const int st = mla_latent_attention(MLA_DEVICE_CPU, nullptr, MLA_F32, 1, nullptr, 0, 1, H, Tq, n, rl, dh, P,
                                                zero_row, n - Tq, scale, qa.data(), qas,
                                                x[size_t(l)].data() + first * rl, cs, qw.data(), qws, p.data(), ps,
                                                nullptr, ref.data(), qas);
            if (status == MLA_OK) status = st;
            char what[96];
            std::snprintf(what, sizeof what, "mixed r: layer %d of r=8/24/5 (r=%d, %d frames) %s", l, rl, n, when);
            report("cpu", "lcache", "mixed r", what, status, max_abs_diff(z, ref), 0.0);
        }
    };
    // Layers at different lengths; 129 frames in layer 1 grow every layer's ring to 256 rows.
    auto append = [&](int l, int64_t from, int frames) {
        const int rl = r[size_t(l)];
        return mla_latent_cache_append_f32(c, nullptr, l, frames, x[size_t(l)].data() + from * rl, rl);
    };
    expect(append(0, 0, 100) == MLA_OK && append(2, 0, 7) == MLA_OK && append(1, 0, 129) == MLA_OK,
           "appends to layers of r = 8, 24, 5");
    expect(mla_cache_bytes(c) == per_frame * 256 && mla_cache_frames(c, 0) == 100 && mla_cache_frames(c, 1) == 129 &&
               mla_cache_frames(c, 2) == 7,
           "growth keeps every layer's frames");
    check_layers("grown to 256 rows");
    // Every layer to 380 frames, in chunks of 90: the ring reaches max_frames = 300 and evicts.
    for (int l = 0; l < layers; ++l)
        for (int n = mla_cache_frames(c, l); n < total; n += 90)
            expect(append(l, n, std::min(90, total - n)) == MLA_OK, "append up to 380 frames");
    expect(mla_cache_bytes(c) == per_frame * window && mla_cache_frames(c, 1) == window &&
               mla_cache_first_position(c, 1) == total - window,
           "growth stops at max_frames, then the oldest frames go");
    check_layers("evicting, window 300");

    // A batch of c and a cache that differs in layer 1 only: layers 0 and 2 attend, layer 1 is refused.
    expect(mla_latent_cache_create(&other, MLA_DEVICE_CPU, layers, r_other.data(), window) == MLA_OK,
           "latent cache of r = 8, 16, 5 created");
    for (int l = 0; l < layers; ++l)
        expect(mla_latent_cache_append_f32(other, nullptr, l, 10, x[size_t(l)].data(), r_other[size_t(l)]) == MLA_OK,
               "append to the other cache");
    mla_cache* batch[2] = {c, other};
    int splits = 0;
    int64_t bytes = 0;
    expect(attend(batch, 2, 0, 2) == MLA_OK && attend(batch, 2, 2, 2) == MLA_OK,
           "batch of caches alike in the attended layer (other layers' r differ)");
    expect(attend(batch, 2, 1, 2) == MLA_ERR_INVALID_ARGUMENT, "batch of caches of different r in the attended layer");
    expect(mla_cache_attend_plan(batch, 2, 1, H, 2, &splits, &bytes) == MLA_ERR_INVALID_ARGUMENT,
           "plan over caches of different r in the attended layer");
    splits = 0;
    expect(mla_cache_attend_plan(batch, 2, 0, H, 2, &splits, &bytes) == MLA_OK, "plan over caches alike in the layer");
    mla_cache_destroy(c);
    mla_cache_destroy(other);
    std::printf("cpu  cache   layers of different r: arguments, bytes, growth, eviction, batches: %s\n",
                g_failures == 0 ? "ok" : "FAIL");
}

#ifdef MHA2MLA_WITH_CUDA

namespace {

// Streaming cases for the CUDA checks: small ones where the kernels are emulated, and on a GPU also the
// flagship sizes (H = 16, dh = 64, r = 512) where the planned key splits exceed one.
std::vector<StreamCase> cuda_stream_cases() {
#ifdef MHA2MLA_CUDA_EMULATION
    // Emulated blocks are slow: few steps, each case reaching a different kernel instantiation or path (ring
    // wrap with chunk 1, dh up to 128, r > 512, a batch with windows of different lengths, two launch groups).
    std::vector<StreamCase> cases;
    for (CacheKind kind : {CacheKind::Latent, CacheKind::KeyValue}) {
        cases.push_back({"evicting", kind, 1, 3, 24, 40, 8, 1, 3, 1, 0});
        cases.push_back({"full context dh=100", kind, 1, 2, 100, 72, 8, 4, 8, 1, 0});
        cases.push_back({"evicting r=600", kind, 1, 2, 40, 600, 20, 16, 17, 1, 0});
        cases.push_back({"batch", kind, 1, 4, 16, 48, 4, 4, 9, 3, 5});
    }
    cases.push_back({"batch of 35", CacheKind::Latent, 1, 2, 8, 16, 2, 2, 4, 35, 1});
    // Layers of r = 8, 24, 5 (each its own offset and width in the ring): session 1's 125 + 2 + 2 frames grow
    // the ring past 128 rows (the copy kernel moves 127 frames of each layer), and its last chunk evicts.
    cases.push_back({"mixed r, growing batch", CacheKind::Latent, 3, 1, 8, 0, 6, 2, 129, 2, 125, {8, 24, 5}});
    return cases;
#else
    std::vector<StreamCase> cases = stream_cases();
    for (CacheKind kind : {CacheKind::Latent, CacheKind::KeyValue}) {
        cases.push_back({"flagship", kind, 1, 16, 64, 512, 600, 1, 600, 1, 0});
        cases.push_back({"flagship evicting", kind, 1, 16, 64, 512, 400, 16, 272, 1, 0});
        cases.push_back({"flagship batch 8", kind, 1, 16, 64, 512, 48, 8, 400, 8, 45});
    }
    // Per-layer ranks across the latent kernel's r instantiations (<= 128, <= 512, <= 1024), with key splits.
    cases.push_back({"mixed r flagship batch 4", CacheKind::Latent, 3, 16, 64, 0, 200, 8, 272, 4, 40, {512, 96, 1000}});
    return cases;
#endif
}

constexpr int kWindowsPerLaunchInTests = 32;  // caches per kernel launch (mla::kWindowsPerLaunch)

}  // namespace

// Streaming through CUDA caches equals streaming through CPU caches, with planned and with 3 key splits.
void check_streaming_cuda(cudaStream_t stream) {
    Rng rng(777);
    for (const StreamCase& sc : cuda_stream_cases()) {
        const StreamData d = make_stream(sc, rng);
        std::vector<float> cpu, gpu;
        HostMemory host;
        double ms = 0.0;
        const int status = stream_through_caches(d, host, 0, cpu, ms);
        for (int splits : {0, 3}) {
#ifdef MHA2MLA_CUDA_EMULATION
            if (splits == 3 && sc.sessions > kWindowsPerLaunchInTests) continue;  // slow; the split path is covered
#endif
            DeviceMemory dev;
            dev.stream = stream;
            int st = status;
            if (st == MLA_OK) st = stream_through_caches(d, dev, splits, gpu, ms);
            report("cuda", sc.kind == CacheKind::Latent ? "lcache" : "kvcache", splits == 0 ? "planned" : "splits=3",
                   describe(sc), st, max_abs_diff(gpu, cpu), ms);
        }
    }
    // A CUDA cache is attended only with CUDA caches; appends and attends check their arguments as on the CPU.
    mla_cache *gpu = nullptr, *cpu = nullptr;
    const std::vector<int> r8 = same_r(1, 8);
    expect(mla_latent_cache_create(&gpu, MLA_DEVICE_CUDA, 1, r8.data(), 4) == MLA_OK, "CUDA latent cache created");
    expect(mla_latent_cache_create(&cpu, MLA_DEVICE_CPU, 1, r8.data(), 4) == MLA_OK, "CPU latent cache created");
    DeviceMemory dev;
    dev.stream = stream;
    const float* c = dev.put(std::vector<float>(32, 0.5f));
    expect(mla_latent_cache_append_f32(gpu, stream, 0, 4, c, 8) == MLA_OK, "CUDA append");
    expect(mla_latent_cache_append_f32(cpu, nullptr, 0, 4, std::vector<float>(32, 0.5f).data(), 8) == MLA_OK, "CPU append");
    mla_cache* mixed[2] = {gpu, cpu};
    int splits = 0;
    int64_t bytes = 0;
    expect(mla_cache_attend_plan(mixed, 2, 0, 2, 1, &splits, &bytes) == MLA_ERR_INVALID_ARGUMENT,
           "CPU and CUDA caches in one batch are rejected");
    splits = 5;
    expect(mla_cache_attend_plan(mixed, 1, 0, 2, 1, &splits, &bytes) == MLA_OK && splits == 5 && bytes > 0,
           "a plan for a given split count sizes its workspace");
    const float* q = dev.put(std::vector<float>(64, 0.1f));
    float* z = dev.buffer(16);
    const int64_t qs[3] = {16, 8, 8}, ps[2] = {8, 4};
    expect(mla_latent_cache_attend_f32(stream, 5, nullptr, 0, mixed, 1, 0, 2, 1, 4, 8, 4, 0.5f, q, qs, q, qs, q, ps, z,
                                       qs) == MLA_ERR_INVALID_ARGUMENT,
           "CUDA split attend without workspace is rejected");
    cudaStreamSynchronize(stream);
    mla_cache_destroy(gpu);
    mla_cache_destroy(cpu);
}

#endif

}  // namespace kcheck
