/* reduce.h — deterministic work-group sums (fixed tree order, no atomics). WG threads must all call. */
#ifndef ASYMBP_REDUCE_H
#define ASYMBP_REDUCE_H

/* The sum of v over the work-group (WG a power of two), returned to every thread. red holds WG floats. */
DEVICE_FN float group_sum(LOCAL_PTR float* red, float v, int lid, int wg) {
    red[lid] = v;
    BARRIER();
    for (int span = wg / 2; span > 0; span >>= 1) {
        if (lid < span) red[lid] += red[lid + span];
        BARRIER();
    }
    float total = red[0];
    BARRIER();
    return total;
}

#endif
