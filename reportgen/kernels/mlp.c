/* Forward pass, summed squared error and its gradient for many small MLPs at once.
 *
 * The sweep trainer calls mlp_gradients once per Adam step for all the runs of a chunk. Runs are
 * computed one after another and never share an accumulator, so a run's numbers do not depend on
 * which other runs are in the call.
 *
 * A run's parameters sit at params + offset[r], in nn.Module.parameters() order: for each layer,
 * its weight [fan_out][fan_in] row-major, then its bias [fan_out]. Layers are 1 -> width -> ...
 * -> width -> 1.
 */

#include "common.h"

enum { TANH = 0, SIGMOID = 1, RELU = 2, IDENTITY = 3 };

/* tanh to within two units in the last place, without branches so that loops over it vectorize.
 * Small |x|: an odd polynomial; otherwise (1 - t) / (1 + t) with t = exp(-2|x|), so nothing overflows.
 * Coefficients: Cephes (tanhf, expf). Pure arithmetic: the same bits on every machine. */
static inline float fast_tanh(float x)
{
    float a = fabsf(x), z = x * x;
    float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z
                    + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    /* exp(y) for y = -2|x| in [-18.1, 0]: y = n ln 2 + r, |r| <= ln 2 / 2. */
    float y = -2.0f * (a < 9.0f ? a : 9.0f);
    float n = (y * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  /* round to nearest */
    float r = (y - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r
                + 1.6666665459e-1f) * r + 5.0000001201e-1f) * (r * r) + r + 1.0f;
    union { int i; float f; } scale = { .i = ((int)n + 127) << 23 };
    float t = p * scale.f;
    float large = copysignf((1.0f - t) / (1.0f + t), x);
    return a >= 0.625f ? large : small;  /* NaN takes the polynomial branch, and stays NaN */
}

/* h = activation(z) elementwise; the switch sits outside the loops so that each loop vectorizes. */
static void activate(int kind, long count, const float *restrict z, float *restrict h)
{
    switch (kind) {
    case TANH:
        for (long k = 0; k < count; k++)
            h[k] = fast_tanh(z[k]);
        break;
    case SIGMOID:
        for (long k = 0; k < count; k++)
            h[k] = 1.0f / (1.0f + expf(-z[k]));
        break;
    case RELU:
        for (long k = 0; k < count; k++)
            h[k] = z[k] > 0.0f ? z[k] : 0.0f;
        break;
    default:
        memcpy(h, z, sizeof(float) * count);
    }
}

/* delta = d loss / d z given upstream = d loss / d h, written as torch's backward kernels are. */
static void activate_backward(int kind, long count, const float *restrict upstream, const float *restrict z,
                              const float *restrict h, float *restrict delta)
{
    switch (kind) {
    case TANH:
        for (long k = 0; k < count; k++)
            delta[k] = upstream[k] * (1.0f - h[k] * h[k]);
        break;
    case SIGMOID:
        for (long k = 0; k < count; k++)
            delta[k] = upstream[k] * (1.0f - h[k]) * h[k];
        break;
    case RELU:
        for (long k = 0; k < count; k++)
            delta[k] = z[k] <= 0.0f ? 0.0f : upstream[k];
        break;
    default:
        memcpy(delta, upstream, sizeof(float) * count);
    }
}

/* out[p][j] = sum_i in[p][i] * weight[j][i] + bias[j], for n points; transposed is scratch for fan_in * fan_out.
 * Every case sums in the same order: zero, then i = 0, 1, ..., then the bias. */
static void linear(int n, int fan_in, int fan_out, const float *in, const float *weight, const float *bias,
                   float *transposed, float *out)
{
    /* With the weight transposed, the innermost loop runs along contiguous outputs and vectorizes. */
    const float *columns = weight;
    if (fan_in > 1 && fan_out > 1) {
        for (int j = 0; j < fan_out; j++)
            for (int i = 0; i < fan_in; i++)
                transposed[(long)i * fan_out + j] = weight[(long)j * fan_in + i];
        columns = transposed;
    }
    for (int p = 0; p < n; p++) {
        const float *a = in + (long)p * fan_in;
        float *z = out + (long)p * fan_out;
        if (fan_out == 1) {  /* one output: a plain dot product */
            float sum = 0.0f;
            for (int i = 0; i < fan_in; i++)
                sum += a[i] * weight[i];
            z[0] = sum + bias[0];
            continue;
        }
        memset(z, 0, sizeof(float) * fan_out);
        for (int i = 0; i < fan_in; i++)
            axpy(fan_out, a[i], columns + (long)i * fan_out, z);
        axpy(fan_out, 1.0f, bias, z);
    }
}

/* Scratch for one run: pre-activations z and outputs h of every layer ([layer][point][unit]),
 * the gradient with respect to a layer's pre-activations and inputs, and a transposed weight. */
struct work {
    float *z, *h, *delta, *upstream, *transposed;
};

/* Pre-activations and outputs of every layer for n points; the last layer is linear. */
static void forward(int activation, int width, int depth, int n, const float *x, const float *params,
                    const struct work *w)
{
    const float *in = x;
    int fan_in = 1;
    for (int l = 0; l <= depth; l++) {
        int fan_out = l == depth ? 1 : width;
        const float *weight = params, *bias = params + (long)fan_out * fan_in;
        float *zl = w->z + (long)l * n * width, *hl = w->h + (long)l * n * width;
        linear(n, fan_in, fan_out, in, weight, bias, w->transposed, zl);
        activate(l == depth ? IDENTITY : activation, (long)n * fan_out, zl, hl);
        params = bias + fan_out;
        in = hl;
        fan_in = fan_out;
    }
}

/* Gradient of sum_p (y_p - t_p)^2 with respect to every parameter of one run; returns that sum. */
static float run_gradient(int activation, int width, int depth, int n, const float *x, const float *targets,
                          const float *params, float *grads, const struct work *w)
{
    forward(activation, width, depth, n, x, params, w);

    const float *y = w->h + (long)depth * n * width;
    float loss = 0.0f;
    for (int p = 0; p < n; p++) {
        float r = y[p] - targets[p];
        loss += r * r;
        w->upstream[p] = 2.0f * r;
    }

    long start = 0;  /* where layer l's weight starts in the parameter row */
    for (int l = 0; l < depth; l++)
        start += (long)(l == 0 ? 1 : width) * width + width;

    for (int l = depth; l >= 0; l--) {
        int fan_in = l == 0 ? 1 : width, fan_out = l == depth ? 1 : width;
        const float *in = l == 0 ? x : w->h + (long)(l - 1) * n * width;
        const float *weight = params + start;
        float *grad_weight = grads + start, *grad_bias = grad_weight + (long)fan_out * fan_in;

        /* delta: the gradient with respect to this layer's pre-activations. */
        activate_backward(l == depth ? IDENTITY : activation, (long)n * fan_out, w->upstream,
                          w->z + (long)l * n * width, w->h + (long)l * n * width, w->delta);

        memset(grad_weight, 0, sizeof(float) * ((long)fan_out * fan_in + fan_out));
        for (int p = 0; p < n; p++) {
            const float *a = in + (long)p * fan_in, *d = w->delta + (long)p * fan_out;
            if (fan_in == 1)  /* the weight is a column: one loop along it */
                axpy(fan_out, a[0], d, grad_weight);
            else
                for (int j = 0; j < fan_out; j++)
                    axpy(fan_in, d[j], a, grad_weight + (long)j * fan_in);
            axpy(fan_out, 1.0f, d, grad_bias);  /* 1 * d is exact: a plain sum */
        }
        if (l == 0)
            break;
        /* upstream = delta W: the gradient with respect to this layer's inputs. */
        memset(w->upstream, 0, sizeof(float) * (long)n * fan_in);
        for (int p = 0; p < n; p++) {
            const float *d = w->delta + (long)p * fan_out;
            float *u = w->upstream + (long)p * fan_in;
            for (int j = 0; j < fan_out; j++)
                axpy(fan_in, d[j], weight + (long)j * fan_in, u);
        }
        start -= (long)(l == 1 ? 1 : width) * width + width;
    }
    return loss;
}

/* Scratch large enough for every run of a call, in one allocation; NULL if memory ran out. */
static float *allocate_work(int n_runs, const int *widths, const int *depths, int n, struct work *w)
{
    long most = 1, deepest = 0;
    for (int r = 0; r < n_runs; r++) {
        most = widths[r] > most ? widths[r] : most;
        deepest = depths[r] > deepest ? depths[r] : deepest;
    }
    long layer = n * most;
    float *block = malloc(sizeof(float) * (2 * (deepest + 1) * layer + 2 * layer + most * most));
    if (block) {
        w->z = block;
        w->h = w->z + (deepest + 1) * layer;
        w->delta = w->h + (deepest + 1) * layer;
        w->upstream = w->delta + layer;
        w->transposed = w->upstream + layer;
    }
    return block;
}

/* One gradient evaluation for every run: grads and losses[r] are written, params only read.
 * targets is [n_runs][n]; x holds the n shared inputs. Returns 0, or -1 if memory ran out. */
int mlp_gradients(int n_runs, const int *widths, const int *depths, const long *offsets, int activation, int n,
                  const float *x, const float *targets, const float *params, float *grads, float *losses)
{
    struct work w;
    float *block = allocate_work(n_runs, widths, depths, n, &w);
    if (!block)
        return -1;
    for (int r = 0; r < n_runs; r++)
        losses[r] = run_gradient(activation, widths[r], depths[r], n, x, targets + (long)r * n,
                                 params + offsets[r], grads + offsets[r], &w);
    free(block);
    return 0;
}

/* The network outputs of every run at n inputs: out is [n_runs][n]. Returns 0, or -1 if memory ran out. */
int mlp_predict(int n_runs, const int *widths, const int *depths, const long *offsets, int activation, int n,
                const float *x, const float *params, float *out)
{
    struct work w;
    float *block = allocate_work(n_runs, widths, depths, n, &w);
    if (!block)
        return -1;
    for (int r = 0; r < n_runs; r++) {
        forward(activation, widths[r], depths[r], n, x, params + offsets[r], &w);
        memcpy(out + (long)r * n, w.h + (long)depths[r] * n * widths[r], sizeof(float) * n);
    }
    free(block);
    return 0;
}

/* The kernel's tanh of n values, exported so that tests can measure its accuracy. */
void mlp_tanh(long n, const float *x, float *out)
{
    activate(TANH, n, x, out);
}
