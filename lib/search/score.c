/*
 * score.c: the ranking arithmetic (docs/RANKING.md): Robertson/Spärck Jones
 * idf with the +1 that keeps it positive, and BM25's saturating,
 * length-normalized term frequency. Pure functions; the executor decides what
 * a "word" is and which bonuses apply.
 */
#include "search.h"

#include <math.h>

double esi_score_idf(uint64_t df, uint64_t n)
{
    if (df > n)
        df = n;
    return log(1.0 + ((double)n - (double)df + 0.5) / ((double)df + 0.5));
}

double esi_score_bm25(double idf, uint32_t tf, uint32_t dl, double avgdl,
                      double k1, double b)
{
    if (tf == 0)
        return 0.0;
    double norm = k1;
    if (dl > 0 && avgdl > 0)
        norm = k1 * (1.0 - b + b * (double)dl / avgdl);
    return idf * (double)tf * (k1 + 1.0) / ((double)tf + norm);
}
