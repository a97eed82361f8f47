/*
 * softmax_cross_entropy: dlogits = (softmax(logits) − onehot(label)) / batch;
 * stats[0] = Σ_b (log Σ_j exp(l_bj − max_b) − (l_b,label − max_b)) (stable); stats[1] = number of rows
 * whose first arg max differs from the label. Both written, not added.
 * Launch: 1 group of WG (threads stride over rows; fixed-order tree sums, so results repeat).
 */
#include "common/reduce.h"
#include "common/elementwise.h"

#define SCE_WG 256

KERNEL void softmax_cross_entropy(BUF(float, dlogits), BUF(float, stats), CBUF(float, logits), CBUF(int, labels),
                                  int batch, int classes) {
    LOCAL_MEM float red[SCE_WG];
    OFF(dlogits); OFF(stats); OFF(logits); OFF(labels);
    const int lid = LOCAL_ID();
    const float invB = 1.0f / (float) batch;
    float loss = 0.0f, errors = 0.0f;
    for (int b = lid; b < batch; b += SCE_WG) {
        float wrong;
        loss += softmax_ce_row(dlogits + b * classes, logits + b * classes, classes, labels[b], invB, &wrong);
        errors += wrong;
    }
    loss = group_sum(red, loss, lid, SCE_WG);
    errors = group_sum(red, errors, lid, SCE_WG);
    if (lid == 0) { stats[0] = loss; stats[1] = errors; }
}
