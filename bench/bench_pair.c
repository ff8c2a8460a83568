/*
 * bench_pair.c: edusearch and SQLite FTS5 timed in turn, in one process,
 * over the indexes their own drivers built (bench/run compiles it with
 * bench_edusearch.c and bench_fts5.c, both with -DBENCH_PAIR, when both
 * engines ran). Separate runs of the two drivers, minutes apart, meet a VM
 * whose cores change speed by about 1.6x from minute to minute; here every
 * query runs on both engines back to back, so their ratio does not move
 * with it (benchutil.h: bench_pair_main).
 *
 *     bench_pair QUERIES INDEX_EDUSEARCH INDEX_FTS5
 */
#include "benchutil.h"

int main(int argc, char **argv)
{
    return bench_pair_main(argc, argv, bench_edusearch_engine(), bench_fts5_engine());
}
