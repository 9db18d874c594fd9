// Baseline for the AArch64 instruction counts: gemmlowp's uint8 GEMM (Debian libgemmlowp-dev,
// header-only) on the same M x N x K shape, single-threaded, raw int32 output (empty output
// pipeline).  Usage: bench_gemmlowp M N K SKIP; SKIP = 1 is the start-up baseline (same
// allocation and input generation, no GEMM).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <vector>

#include "public/gemmlowp.h"

int main(int argc, char **argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: bench_gemmlowp M N K SKIP\n");
        return 2;
    }
    const int M = std::atoi(argv[1]), N = std::atoi(argv[2]), K = std::atoi(argv[3]);
    const bool skip = std::atoi(argv[4]) != 0;
    std::vector<std::uint8_t> a(static_cast<size_t>(M) * K), w(static_cast<size_t>(N) * K);
    std::vector<std::int32_t> out(static_cast<size_t>(M) * N);
    std::uint32_t s = 12345u;
    for (size_t i = 0; i < a.size(); i++) a[i] = (s = s * 1664525u + 1013904223u) >> 24;
    for (size_t i = 0; i < w.size(); i++) w[i] = (s = s * 1664525u + 1013904223u) >> 24;
    if (!skip) {
        gemmlowp::GemmContext ctx;
        ctx.set_max_num_threads(1);
        gemmlowp::MatrixMap<const std::uint8_t, gemmlowp::MapOrder::RowMajor> lhs(a.data(), M, K);
        gemmlowp::MatrixMap<const std::uint8_t, gemmlowp::MapOrder::ColMajor> rhs(w.data(), K, N);
        gemmlowp::MatrixMap<std::int32_t, gemmlowp::MapOrder::RowMajor> res(out.data(), M, N);
        gemmlowp::GemmWithOutputPipeline<std::uint8_t, std::int32_t,
                                         gemmlowp::DefaultL8R8BitDepthParams>(
            &ctx, lhs, rhs, &res, -128, -128, std::make_tuple());
    }
    std::printf("gemmlowp checksum %d\n", out[0] + out[static_cast<size_t>(M) * N - 1]);
    return 0;
}
