/*
 * standalone_main.c: runs a fuzz target without libFuzzer: every file named
 * on the command line (directories are walked one level) is fed to
 * LLVMFuzzerTestOneInput once. `make check` uses it to replay the seed
 * corpora and every crash ever found (tests/fuzz/corpus/<target>/).
 */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

/* Feed one file to the target; returns 0, or 1 if it cannot be read. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return 1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int bad = 0, runs = 0;
    char dflt[4096];
    char *dflt_argv[] = { argv[0], dflt, NULL };
#ifdef FUZZ_NAME
    /* no arguments (make check): replay this target's committed corpus */
    const char *top = getenv("ES_TOP_SRCDIR");
    if (argc < 2) {
        snprintf(dflt, sizeof dflt, "%s/tests/fuzz/corpus/%s", top ? top : ".",
                 FUZZ_NAME);
        argv = dflt_argv;
        argc = 2;
    }
#else
    (void)dflt_argv;
#endif
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "cannot stat %s\n", argv[i]);
            bad++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad += run_file(argv[i]);
            runs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
            bad += run_file(path);
            runs++;
        }
        if (d)
            closedir(d);
    }
    printf("%s: replayed %d inputs, %d unreadable\n", argv[0], runs, bad);
    return bad ? 1 : 0;
}
