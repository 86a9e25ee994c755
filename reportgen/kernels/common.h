/* What both kernels share: the innermost loop, and Adam with torch's rounding.
 *
 * Each kernel (polynomial.c, mlp.c) is compiled into its own library, so that a build compiles only
 * what its studies train. Compiled without -ffast-math and with -ffp-contract=off: every sum is
 * evaluated in the order written, with IEEE rounding and NaN/inf propagation (a diverging run is
 * detected by its non-finite loss), and fmaf appears only where torch fuses.
 */

#ifndef REPORTGEN_KERNEL_COMMON_H
#define REPORTGEN_KERNEL_COMMON_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* y += alpha * x over n entries: the innermost loop of every product below. */
static inline void axpy(int n, float alpha, const float *restrict x, float *restrict y)
{
    for (int i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

/* ------------------------------------------------------------------------------------------ Adam
 * torch.optim.Adam's default (single-tensor) step on n floats, with the float32 arithmetic of torch's
 * CPU kernels, in two halves around torch's own sqrt (which is not correctly rounded, unlike sqrtf).
 * With AVX2 or AVX-512 (fused = 1), torch's lerp_, addcmul_ and add(alpha=) round once, through a
 * fused multiply-add, while div_ and addcdiv_ do not; its baseline kernels (fused = 0) round every
 * operation. Scalars arrive as torch casts them to float32. */

/* What a multiply-add rounds like in torch: fused or not. */
#define ROUNDED(a, b, c) ((a) * (b) + (c))
#define FUSED(a, b, c) fmaf((a), (b), (c))

/* First half: weight decay (skipped where decay[i] == 0, as torch does), then
 * exp_avg.lerp_(grad, weight) and exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2). */
#define MOMENTS(MULTIPLY_ADD)                                                                              \
    for (long i = 0; i < n; i++) {                                                                         \
        float g = decay[i] != 0.0f ? MULTIPLY_ADD(param[i], decay[i], grad[i]) : grad[i];                  \
        float m = exp_avg[i], difference = g - m;                                                          \
        exp_avg[i] = small_weight ? MULTIPLY_ADD(weight, difference, m)                                    \
                                  : MULTIPLY_ADD(weight - 1.0f, difference, g);                            \
        exp_avg_sq[i] = MULTIPLY_ADD(one_minus_beta2 * g, g, exp_avg_sq[i] * beta2);                       \
    }

#define MOMENT_ARGUMENTS long n, const float *restrict param, const float *restrict grad,                \
    float *restrict exp_avg, float *restrict exp_avg_sq, const float *restrict decay, float weight,        \
    float beta2, float one_minus_beta2

static void moments_rounded(MOMENT_ARGUMENTS)
{
    int small_weight = fabsf(weight) < 0.5f;  /* torch's lerp switches formula at weight 0.5 */
    MOMENTS(ROUNDED)
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_FUSED 1
/* Compiled for FMA so that fmaf is one vectorized instruction; called only where the CPU has it. */
__attribute__((target("fma"))) static void moments_fused(MOMENT_ARGUMENTS)
{
    int small_weight = fabsf(weight) < 0.5f;
    MOMENTS(FUSED)
}
#else
#define HAVE_FUSED 0
#endif

/* Whether adam_moments can round this way here. */
int adam_available(int fused)
{
#if HAVE_FUSED
    return !fused || __builtin_cpu_supports("fma");
#else
    return !fused;
#endif
}

/* The first half of a step; returns 0, or -1 if the fused rounding is unavailable (see adam_available). */
int adam_moments(int fused, MOMENT_ARGUMENTS)
{
    if (!adam_available(fused))
        return -1;
#if HAVE_FUSED
    if (fused) {
        moments_fused(n, param, grad, exp_avg, exp_avg_sq, decay, weight, beta2, one_minus_beta2);
        return 0;
    }
#endif
    moments_rounded(n, param, grad, exp_avg, exp_avg_sq, decay, weight, beta2, one_minus_beta2);
    return 0;
}

/* Second half, given root = torch.sqrt(exp_avg_sq): denom = root / bias_correction2_sqrt + eps, then
 * param.addcdiv_(exp_avg, denom, value=-step_size), which rounds (value * exp_avg) / denom, then the sum. */
void adam_update(long n, float *restrict param, const float *restrict exp_avg, const float *restrict root,
                 float bias_correction2_sqrt, float eps, float neg_step_size)
{
    for (long i = 0; i < n; i++)
        param[i] = param[i] + neg_step_size * exp_avg[i] / (root[i] / bias_correction2_sqrt + eps);
}

#endif
