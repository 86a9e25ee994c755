/* Forward pass, summed squared error and its gradient for many polynomial runs at once.
 *
 * The sweep trainer calls poly_gradients once per Adam step for all the runs of a chunk. Runs are
 * computed one after another and never share an accumulator, so a run's numbers do not depend on
 * which other runs are in the call. A run's parameters sit at params + offset[r], in
 * nn.Module.parameters() order.
 */

#include "common.h"

/* A polynomial run of degree d is a linear layer on the features x, x^2, ..., x^d: parameters
 * w[0..d-1], then the bias w[d]. Its features are the first d of a shared table, given twice:
 * features[p][k] (point-major, rows of `stride` floats) and columns[k][p] (the transpose). */

/* z[p] = sum_k columns[k][p] * w[k] + w[d]: the innermost loop runs along the points. */
static void poly_forward(int n, int degree, const float *columns, const float *w, float *z)
{
    memset(z, 0, sizeof(float) * n);
    for (int k = 0; k < degree; k++)
        axpy(n, w[k], columns + (long)k * n, z);
    for (int p = 0; p < n; p++)
        z[p] += w[degree];
}

/* One gradient evaluation for every polynomial run; returns 0, or -1 if memory ran out. */
int poly_gradients(int n_runs, const int *degrees, const long *offsets, int n, int stride, const float *features,
                   const float *columns, const float *targets, const float *params, float *grads, float *losses)
{
    float *z = malloc(sizeof(float) * n);
    if (!z)
        return -1;
    for (int r = 0; r < n_runs; r++) {
        int degree = degrees[r];
        const float *w = params + offsets[r], *t = targets + (long)r * n;
        float *g = grads + offsets[r];
        poly_forward(n, degree, columns, w, z);
        float loss = 0.0f;
        memset(g, 0, sizeof(float) * (degree + 1));
        for (int p = 0; p < n; p++) {
            float residual = z[p] - t[p], twice = 2.0f * residual;
            loss += residual * residual;
            axpy(degree, twice, features + (long)p * stride, g);
            g[degree] += twice;
        }
        losses[r] = loss;
    }
    free(z);
    return 0;
}

/* The polynomials of every run at the n points whose feature columns are given: out is [n_runs][n]. */
void poly_predict(int n_runs, const int *degrees, const long *offsets, int n, const float *columns,
                  const float *params, float *out)
{
    for (int r = 0; r < n_runs; r++)
        poly_forward(n, degrees[r], columns, params + offsets[r], out + (long)r * n);
}

