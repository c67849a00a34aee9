// RTNeural benchmark harness: times RTNeural's compile-time-sized models
// (ModelT with LSTMLayerT / GRULayerT / DenseT), one timestep per forward()
// call, with the protocol of tinyrnn's core/examples/bench_json.rs, so that
// the JSON lines of both programs can be compared side by side.
//
// Build one binary per backend (see build.sh): -DRTNEURAL_USE_EIGEN=1 or
// -DRTNEURAL_USE_XSIMD=1.
//
//   bench_xxx                   time every case, one JSON line each
//   bench_xxx lstm_1x32 gru     only the cases whose id (cell_IxH) contains
//                               one of the arguments
//   bench_xxx --steps N ...     run N steps of each chosen case once, untimed,
//                               print nothing (for callgrind / perf)
//   bench_xxx --check ...       compare each model with a scalar double
//                               reference over CHECK_STEPS steps, print one
//                               JSON line per case with the max abs difference
//   bench_xxx --only VARIANT    as bench_json: run only if VARIANT is this
//                               binary's variant (rtneural_eigen/_xsimd)
//
// Cases, weights and inputs are those of core/benches/cases/mod.rs: the same
// xorshift generator, seeds and draw order, so the weights are bit-identical
// to the ones tinyrnn's bench_json encodes (uniform in +-1/sqrt(H)).

#include "RTNeural/ModelT.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#if RTNEURAL_USE_EIGEN
static const char* const VARIANT = "rtneural_eigen";
#elif RTNEURAL_USE_XSIMD
static const char* const VARIANT = "rtneural_xsimd";
#if XSIMD_VERSION_MAJOR < 9
#error "this RTNeural needs xsimd >= 9 (xsimd::reduce_add); build.sh uses third_party/xsimd"
#endif
#else
#error "define RTNEURAL_USE_EIGEN=1 or RTNEURAL_USE_XSIMD=1"
#endif

namespace
{

// ---------------------------------------------------------------------------
// Timing protocol (bench_json.rs)

/// Timed runs per case; the median is reported, and the minimum.
constexpr size_t RUNS = 101;
/// Target duration of one run.
constexpr double RUN_NANOS = 1e6;
/// Steps of the reference check.
constexpr int CHECK_STEPS = 512;

double thread_cpu_nanos()
{
    timespec ts {};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double mono_nanos()
{
    // Rust's Instant is CLOCK_MONOTONIC on Linux.
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/// Like Rust's std::hint::black_box: the value is an input of an empty asm
/// that may read and write any memory.
template <typename T>
inline void black_box(const T& v)
{
    asm volatile("" : : "r,m"(v) : "memory");
}

struct Timing
{
    double median, min, cpu_median;
};

/// Times `step` over the inputs `xs` (`input` values each, cycled): after
/// calibration, RUNS runs of about RUN_NANOS; with fixed > 0, `fixed` steps
/// once, untimed (returns false).
template <typename Step>
bool time_steps(long fixed, const float* xs, size_t n_chunks, int input, Step&& step, Timing& out)
{
    // (wall ns, thread CPU ns) of `steps` steps; the inputs cycle through the
    // n_chunks vectors as xs.chunks_exact(input).cycle() does.
    auto run2 = [&](size_t steps, double& cpu) {
        const double c = thread_cpu_nanos();
        const double t = mono_nanos();
        size_t k = 0;
        for(size_t s = 0; s < steps; ++s)
        {
            step(xs + k * (size_t)input);
            if(++k == n_chunks)
                k = 0;
        }
        const double wall = mono_nanos() - t;
        cpu = thread_cpu_nanos() - c;
        return wall;
    };

    double cpu = 0.0;
    if(fixed > 0)
    {
        run2((size_t)fixed, cpu);
        return false;
    }

    // Calibrate: steps for about RUN_NANOS, after a warm-up.
    size_t steps = 100;
    double t = run2(steps, cpu);
    while(t < RUN_NANOS / 4.0)
    {
        steps *= 4;
        t = run2(steps, cpu);
    }
    steps = (size_t)std::max(1.0, (double)steps * RUN_NANOS / t);

    std::vector<double> ns, cpus;
    ns.reserve(RUNS);
    cpus.reserve(RUNS);
    for(size_t r = 0; r < RUNS; ++r)
    {
        const double w = run2(steps, cpu);
        ns.push_back(w / (double)steps);
        cpus.push_back(cpu / (double)steps);
    }
    std::sort(ns.begin(), ns.end());
    std::sort(cpus.begin(), cpus.end());
    out = { ns[RUNS / 2], ns[0], cpus[cpus.size() / 2] };
    return true;
}

// ---------------------------------------------------------------------------
// Cases, weights and inputs (core/benches/cases/mod.rs)

/// xorshift, uniform in [-1, 1): the generator of cases/mod.rs, in f32.
struct Rng
{
    uint64_t s;
    float next()
    {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return ((float)(s >> 40) / (float)(1ull << 24)) * 2.0f - 1.0f;
    }
    std::vector<float> vec(size_t n, float scale)
    {
        std::vector<float> v(n);
        for(auto& x : v)
            x = next() * scale;
        return v;
    }
};

/// The weights of a case, laid out as tinyrnn's ModelBuilder takes them:
/// row-major [gates * hidden][input] and [gates * hidden][hidden], gate
/// blocks i, f, g, o (LSTM) or z, r, n (GRU).
struct Weights
{
    std::vector<float> w_x, w_h, b, b_h; // b_h: GRU recurrent bias
    std::vector<float> dense_w, dense_b; // lstm+dense only
};

Weights make_weights(const std::string& cell, int i, int h)
{
    const float s = 1.0f / std::sqrt((float)h);
    Rng r { 0x2545F4914F6CDD1Dull ^ (uint64_t)(i * 1000 + h) };
    Weights w;
    if(cell == "lstm" || cell == "lstm+dense")
    {
        w.w_x = r.vec((size_t)4 * h * i, s);
        w.w_h = r.vec((size_t)4 * h * h, s);
        w.b = r.vec((size_t)4 * h, s);
    }
    else // gru_reset_after
    {
        w.w_x = r.vec((size_t)3 * h * i, s);
        w.w_h = r.vec((size_t)3 * h * h, s);
        w.b = r.vec((size_t)3 * h, s);
        w.b_h = r.vec((size_t)3 * h, s);
    }
    if(cell == "lstm+dense")
    {
        w.dense_w = r.vec((size_t)h, s);
        w.dense_b = r.vec(1, s);
    }
    return w;
}

/// 64-byte aligned buffer (the xsimd ModelT loads inputs with load_aligned).
struct AlignedFloats
{
    float* p = nullptr;
    size_t n = 0;
    explicit AlignedFloats(size_t count)
        : n(count)
    {
        const size_t bytes = ((count * sizeof(float) + 63) / 64) * 64 + 64;
        p = static_cast<float*>(std::aligned_alloc(64, bytes));
        std::memset(p, 0, bytes);
    }
    ~AlignedFloats() { std::free(p); }
    AlignedFloats(const AlignedFloats&) = delete;
    AlignedFloats& operator=(const AlignedFloats&) = delete;
};

/// 256 random input vectors of the case, back to back: Rng(99).vec(256 * I, 1).
std::vector<float> make_inputs(int input)
{
    Rng r { 99 };
    return r.vec((size_t)256 * input, 1.0f);
}

// ---------------------------------------------------------------------------
// Loading the weights through RTNeural's setters

/// kernel [input][gates * hidden] for setWVals, recurrent [hidden][gates *
/// hidden] for setUVals: RTNeural's layout is the transpose of tinyrnn's,
/// with the same gate order (LSTM i, f, c(=g), o; GRU z, r, h(=n)).
std::vector<std::vector<float>> transpose(const std::vector<float>& rows, int n_rows, int n_cols)
{
    std::vector<std::vector<float>> t((size_t)n_cols, std::vector<float>((size_t)n_rows));
    for(int r = 0; r < n_rows; ++r)
        for(int c = 0; c < n_cols; ++c)
            t[(size_t)c][(size_t)r] = rows[(size_t)r * n_cols + c];
    return t;
}

template <typename Layer>
void load_lstm(Layer& l, const Weights& w, int i, int h)
{
    l.setWVals(transpose(w.w_x, 4 * h, i));
    l.setUVals(transpose(w.w_h, 4 * h, h));
    l.setBVals(w.b);
}

template <typename Layer>
void load_gru(Layer& l, const Weights& w, int i, int h)
{
    l.setWVals(transpose(w.w_x, 3 * h, i));
    l.setUVals(transpose(w.w_h, 3 * h, h));
    l.setBVals(std::vector<std::vector<float>> { w.b, w.b_h });
}

template <typename Layer>
void load_dense(Layer& l, const Weights& w)
{
    l.setWeights(std::vector<std::vector<float>> { w.dense_w });
    l.setBias(w.dense_b.data());
}

// ---------------------------------------------------------------------------
// Scalar reference (double precision), same cell math as tinyrnn's
// scalar_exact path.

struct Reference
{
    std::string cell;
    int i, h;
    const Weights& w;
    std::vector<double> hs, cs;

    Reference(const std::string& cell_, int i_, int h_, const Weights& w_)
        : cell(cell_), i(i_), h(h_), w(w_), hs((size_t)h_, 0.0), cs((size_t)h_, 0.0)
    {
    }

    static double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

    /// Pre-activations of gate block g: W_x[g] x + W_h[g] h (+ bias).
    double pre(const std::vector<float>& wx, const std::vector<float>& wh, int row, const float* x) const
    {
        double a = 0.0;
        for(int k = 0; k < i; ++k)
            a += (double)wx[(size_t)row * i + k] * (double)x[k];
        return a;
    }
    double rec(const std::vector<float>& wh, int row) const
    {
        double a = 0.0;
        for(int k = 0; k < h; ++k)
            a += (double)wh[(size_t)row * h + k] * hs[(size_t)k];
        return a;
    }

    /// One step; returns the model output (h, or the Dense output).
    std::vector<double> step(const float* x)
    {
        std::vector<double> hn((size_t)h);
        if(cell == "lstm" || cell == "lstm+dense")
        {
            for(int u = 0; u < h; ++u)
            {
                double g[4];
                for(int q = 0; q < 4; ++q)
                {
                    const int row = q * h + u;
                    g[q] = pre(w.w_x, w.w_h, row, x) + rec(w.w_h, row) + (double)w.b[(size_t)row];
                }
                const double ig = sigmoid(g[0]), fg = sigmoid(g[1]), gg = std::tanh(g[2]), og = sigmoid(g[3]);
                cs[(size_t)u] = fg * cs[(size_t)u] + ig * gg;
                hn[(size_t)u] = og * std::tanh(cs[(size_t)u]);
            }
        }
        else // GRU, reset gate after the recurrent product (Keras reset_after / PyTorch)
        {
            for(int u = 0; u < h; ++u)
            {
                const int rz = u, rr = h + u, rn = 2 * h + u;
                const double z = sigmoid(pre(w.w_x, w.w_h, rz, x) + (double)w.b[(size_t)rz] + rec(w.w_h, rz) + (double)w.b_h[(size_t)rz]);
                const double r = sigmoid(pre(w.w_x, w.w_h, rr, x) + (double)w.b[(size_t)rr] + rec(w.w_h, rr) + (double)w.b_h[(size_t)rr]);
                const double n = std::tanh(pre(w.w_x, w.w_h, rn, x) + (double)w.b[(size_t)rn] + r * (rec(w.w_h, rn) + (double)w.b_h[(size_t)rn]));
                hn[(size_t)u] = (1.0 - z) * n + z * hs[(size_t)u];
            }
        }
        hs = hn;
        if(cell == "lstm+dense")
        {
            double y = (double)w.dense_b[0];
            for(int k = 0; k < h; ++k)
                y += (double)w.dense_w[(size_t)k] * hs[(size_t)k];
            return { y };
        }
        return hs;
    }
};

// ---------------------------------------------------------------------------
// Running one case

struct Options
{
    long fixed = 0; // --steps N
    bool check = false; // --check
};

/// Max abs difference between the model and the reference over CHECK_STEPS
/// steps of the case's inputs (cycled), from a zero state.
template <typename Model>
double check_model(Model& model, const std::string& cell, int i, int h, const Weights& w,
    const AlignedFloats& xs, int out_size)
{
    model.reset();
    Reference ref(cell, i, h, w);
    double max_diff = 0.0;
    for(int s = 0; s < CHECK_STEPS; ++s)
    {
        const float* x = xs.p + (size_t)(s % 256) * i;
        model.forward(x);
        const float* y = model.getOutputs();
        const auto yr = ref.step(x);
        for(int k = 0; k < out_size; ++k)
            max_diff = std::max(max_diff, std::abs((double)y[k] - yr[(size_t)k]));
    }
    return max_diff;
}

template <typename Model, typename Loader>
void run_case(const Options& opt, const std::string& cell, int i, int h, int out_size, Loader&& load)
{
    const Weights w = make_weights(cell, i, h);
    const auto inputs = make_inputs(i);
    AlignedFloats xs(inputs.size());
    std::copy(inputs.begin(), inputs.end(), xs.p);

    // Large models (H=128: 256 KiB of recurrent weights), over-aligned: heap.
    auto model = std::make_unique<Model>();
    load(*model, w);

    // The check runs before every timed run too (not under --steps, whose
    // instruction counts must be the steps alone); a model that disagrees
    // with the reference is not timed.
    if(opt.fixed <= 0)
    {
        const double diff = check_model(*model, cell, i, h, w, xs, out_size);
        if(opt.check)
        {
            std::printf("{\"cell\":\"%s\",\"input\":%d,\"hidden\":%d,\"variant\":\"%s\",\"check_steps\":%d,\"max_abs_diff\":%.3e}\n",
                cell.c_str(), i, h, VARIANT, CHECK_STEPS, diff);
            std::fflush(stdout);
            return;
        }
        if(!(diff < 1e-4))
        {
            std::fprintf(stderr, "%s_%dx%d: %s differs from the reference by %g\n", cell.c_str(), i, h, VARIANT, diff);
            std::exit(1);
        }
    }

    model->reset(); // timing starts from a zero state, like StateVec::new
    Model& m = *model;
    Timing t {};
    const bool timed = time_steps(
        opt.fixed, xs.p, 256, i, [&m](const float* x) {
            black_box(x);
            const float y = m.forward(x);
            black_box(y);
        },
        t);
    if(!timed)
        return;
    std::printf("{\"cell\":\"%s\",\"input\":%d,\"hidden\":%d,\"variant\":\"%s\",\"ns_per_step\":%.1f,\"min_ns_per_step\":%.1f,\"cpu_ns_per_step\":%.1f}\n",
        cell.c_str(), i, h, VARIANT, t.median, t.min, t.cpu_median);
    std::fflush(stdout);
}

template <int I, int H>
using LstmModel = RTNeural::ModelT<float, I, H, RTNeural::LSTMLayerT<float, I, H>>;
template <int I, int H>
using GruModel = RTNeural::ModelT<float, I, H, RTNeural::GRULayerT<float, I, H>>;
using LstmDenseModel = RTNeural::ModelT<float, 1, 1, RTNeural::LSTMLayerT<float, 1, 32>, RTNeural::DenseT<float, 32, 1>>;

template <int I, int H>
void lstm_case(const Options& opt)
{
    run_case<LstmModel<I, H>>(opt, "lstm", I, H, H, [](LstmModel<I, H>& m, const Weights& w) {
        load_lstm(m.template get<0>(), w, I, H);
    });
}

template <int I, int H>
void gru_case(const Options& opt)
{
    run_case<GruModel<I, H>>(opt, "gru_reset_after", I, H, H, [](GruModel<I, H>& m, const Weights& w) {
        load_gru(m.template get<0>(), w, I, H);
    });
}

void lstm_dense_case(const Options& opt)
{
    run_case<LstmDenseModel>(opt, "lstm+dense", 1, 32, 1, [](LstmDenseModel& m, const Weights& w) {
        load_lstm(m.get<0>(), w, 1, 32);
        load_dense(m.get<1>(), w);
    });
}

struct CaseEntry
{
    const char* cell;
    int input, hidden;
    void (*run)(const Options&);
};

// The order of cases() in cases/mod.rs (without the cells RTNeural lacks:
// reset-before GRU and Elman).
const CaseEntry CASES[] = {
    { "lstm", 1, 8, lstm_case<1, 8> },
    { "lstm", 1, 16, lstm_case<1, 16> },
    { "lstm", 1, 32, lstm_case<1, 32> },
    { "lstm", 1, 64, lstm_case<1, 64> },
    { "lstm", 1, 128, lstm_case<1, 128> },
    { "lstm", 16, 64, lstm_case<16, 64> },
    { "gru_reset_after", 1, 8, gru_case<1, 8> },
    { "gru_reset_after", 1, 16, gru_case<1, 16> },
    { "gru_reset_after", 1, 32, gru_case<1, 32> },
    { "gru_reset_after", 1, 64, gru_case<1, 64> },
    { "gru_reset_after", 1, 128, gru_case<1, 128> },
    { "gru_reset_after", 16, 64, gru_case<16, 64> },
    { "lstm+dense", 1, 32, lstm_dense_case },
};

bool is_number(const std::string& s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    Options opt;
    std::string only;
    for(size_t a = 0; a < args.size(); ++a)
    {
        if(args[a] == "--steps" && a + 1 < args.size() && is_number(args[a + 1]))
            opt.fixed = std::atol(args[a + 1].c_str());
        else if(args[a] == "--only" && a + 1 < args.size())
            only = args[a + 1];
        else if(args[a] == "--check")
            opt.check = true;
        else if(args[a] == "--help" || args[a] == "-h")
        {
            std::printf("usage: %s [--check] [--steps N] [--only VARIANT] [FILTER...]\n"
                        "  FILTER: part of a case id cell_IxH (lstm, gru, lstm_1x32, lstm+dense, ...)\n",
                argv[0]);
            return 0;
        }
    }
    // Filters: as bench_json, every argument that is not an option, not a
    // number and not the value of --only.
    std::vector<std::string> filter;
    for(const auto& a : args)
        if(a.rfind("--", 0) != 0 && !is_number(a) && a != only)
            filter.push_back(a);
    if(!only.empty() && only != VARIANT)
        return 0;

    for(const auto& c : CASES)
    {
        const std::string id = std::string(c.cell) + "_" + std::to_string(c.input) + "x" + std::to_string(c.hidden);
        const bool chosen = filter.empty() || std::any_of(filter.begin(), filter.end(), [&](const std::string& f) { return id.find(f) != std::string::npos; });
        if(chosen)
            c.run(opt);
    }
    return 0;
}
