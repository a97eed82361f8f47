/*
 * softmax_cross_entropy: dlogits = (softmax(logits) − onehot(label)) / batch;
 * stats[0] = Σ_b (log Σ_j exp(l_bj − max_b) − (l_b,label − max_b)) (stable); stats[1] = number of rows
 * whose first arg max differs from the label. Both written, not added.
 * Launch: 1 group of WG (threads stride over rows; fixed-order tree sums, so results repeat).
 */
#include "common/reduce.h"
#include "common/elementwise.h"

#define SCE_WG 256

KERNEL void softmax_cross_entropy(GLOBAL float* RESTRICT dlogits, int dlogits_off,
                                  GLOBAL float* RESTRICT stats, int stats_off,
                                  GLOBAL const float* RESTRICT logits, int logits_off,
                                  GLOBAL const int* RESTRICT labels, int labels_off,
                                  int batch, int classes) {
    LOCAL_MEM float red[SCE_WG];
    dlogits += dlogits_off; stats += stats_off; logits += logits_off; labels += labels_off;
    const int lid = LOCAL_ID();
    const float invB = 1.0f / (float) batch;
    float loss = 0.0f, errors = 0.0f;
    for (int b = lid; b < batch; b += SCE_WG) {
        GLOBAL const float* l = logits + b * classes;
        float mx;
        const int arg = row_argmax(l, classes, &mx);
        const int label = labels[b];
        float sum = 0.0f, others = 0.0f;
        for (int j = 0; j < classes; j++) {
            float e = EXPF(l[j] - mx);
            sum += e;
            if (j != label) others += e;
        }
        loss += LOGF(sum) - (l[label] - mx);
        if (arg != label) errors += 1.0f;
        const float inv = 1.0f / sum;
        for (int j = 0; j < classes; j++) {
            /* p − 1 at the label is −(Σ_{j≠label} e_j)/sum: no cancellation when p is near 1 */
            float d = (j == label) ? -(others * inv) : EXPF(l[j] - mx) * inv;
            dlogits[b * classes + j] = d * invB;
        }
    }
    loss = group_sum(red, loss, lid, SCE_WG);
    errors = group_sum(red, errors, lid, SCE_WG);
    if (lid == 0) { stats[0] = loss; stats[1] = errors; }
}
