/*
 * cmd_index.c: `edusearch index`: walks files and directories, reads .txt
 * and .md files (id = the path as given) and JSONL (.jsonl files or - for
 * stdin: one object per line, `id` and `text` required, other string fields
 * stored), adds them through es_writer and commits once at the end.
 * Documents whose id, text and fields equal the last commit's are skipped,
 * so indexing the same files again only re-indexes what changed. A bad
 * file or line is reported as `file:line: reason` and skipped. SIGINT stops
 * reading and commits what was added so far.
 */
#include "cli.h"
#include "json.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    signal(SIGINT, SIG_DFL);   /* a second ^C kills at once; commits are atomic */
}

typedef struct run {
    es_writer *w;
    es_index *prev;  /* the last commit, to skip unchanged documents; or NULL */
    size_t docs, skipped, unchanged;
    unsigned long long bytes, total_bytes;
    bool tty;
    struct timespec t0;
    double last_draw;
    int errors;      /* fatal writer errors */
} run;

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Redraw the progress line on a terminal, at most 10 times a second. */
static void progress(run *r, bool final)
{
    if (!r->tty)
        return;
    double t = since(&r->t0);
    if (!final && t - r->last_draw < 0.1)
        return;
    r->last_draw = t;
    double mb = (double)r->bytes / 1e6, rate = t > 0 ? mb / t : 0;
    char eta[32] = "";
    if (r->total_bytes > r->bytes && rate > 0)
        snprintf(eta, sizeof eta, "  ETA %.0fs",
                 ((double)(r->total_bytes - r->bytes) / 1e6) / rate);
    fprintf(stderr, "\r%zu documents (%zu unchanged)  %.1f MB  %.1f MB/s%s   ", r->docs, r->unchanged, mb, rate, eta);
    if (final)
        fputc('\n', stderr);
}

/* True if the last commit already holds this id with this text and these
 * field values (fields the input does not give, e.g. extracted ones, are not
 * compared). */
static bool unchanged(run *r, const char *id, size_t idlen, const char *text,
                      size_t len, const jl_object *fields)
{
    es_results *got = NULL;
    if (!r->prev || es_index_get(&got, r->prev, id, idlen, NULL) != ES_OK)
        return false;
    size_t n;
    const char *old = es_results_text(got, 0, &n);
    bool same = old && n == len && memcmp(old, text, len) == 0;
    for (size_t i = 0; same && fields && i < fields->n; i++) {
        const jl_field *f = &fields->fields[i];
        if (!strcmp(f->name, "id") || !strcmp(f->name, "text"))
            continue;
        old = es_results_field(got, 0, f->name, &n);
        same = old && n == f->value_len && memcmp(old, f->value, n) == 0;
    }
    es_results_free(got);
    return same;
}

/* Add one document; reports and counts a rejected one. Returns -1 only on a
 * writer failure that makes going on pointless (I/O, memory). If owned is
 * not NULL, *owned is text's malloc'ed buffer: it is freed (and set to NULL)
 * once the document holds its copy, so that a huge file is not in memory
 * three times while the writer works. */
static int add_doc(run *r, const char *where, const char *id, size_t idlen,
                   const char *text, size_t len, const jl_object *fields,
                   char **owned)
{
    es_doc *d = NULL;
    es_error err;
    if (unchanged(r, id, idlen, text, len, fields)) {
        r->unchanged++;
        r->bytes += len;
        progress(r, false);
        return 0;
    }
    if (es_doc_new(&d, id, idlen, &err) != ES_OK) {
        fprintf(stderr, "%s: %s; skipped\n", where, err.message);
        r->skipped++;
        return 0;
    }
    es_status rc = es_doc_set_text(d, text, len);
    for (size_t i = 0; rc == ES_OK && fields && i < fields->n; i++) {
        const jl_field *f = &fields->fields[i];
        if (!strcmp(f->name, "id") || !strcmp(f->name, "text"))
            continue;
        rc = es_doc_set_field(d, f->name, f->value, f->value_len);
        if (rc == ES_EINVAL) {   /* a name the index cannot take: skip field */
            fprintf(stderr, "%s: field name \"%s\" is not [a-z0-9_]{1,64}; "
                    "field ignored\n", where, f->name);
            rc = ES_OK;
        }
    }
    if (rc != ES_OK) {
        fprintf(stderr, "%s: %s; skipped\n", where, es_strerror(rc));
        r->skipped++;
        es_doc_free(d);
        return 0;
    }
    if (owned) {
        free(*owned);
        *owned = NULL;
    }
    rc = es_writer_add(r->w, d);
    es_doc_free(d);
    if (rc == ES_EINVAL || rc == ES_ELIMIT) {
        fprintf(stderr, "%s: %s; skipped\n", where, es_writer_errmsg(r->w));
        r->skipped++;
        return 0;
    }
    if (rc != ES_OK) {
        cli_error("%s: %s", where, es_writer_errmsg(r->w));
        r->errors++;
        return -1;
    }
    r->docs++;
    r->bytes += len;
    progress(r, false);
    return 0;
}

/* Read all of f into a malloc'ed buffer. */
static char *slurp(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

/* Index a JSONL stream: one document per line. */
static int index_jsonl(run *r, FILE *f, const char *name)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lineno = 0;
    char where[4096], err[160];
    while (!interrupted && (n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        size_t k = 0;
        while (k < (size_t)n && (line[k] == ' ' || line[k] == '\t'))
            k++;
        if (k == (size_t)n)
            continue;   /* blank line */
        snprintf(where, sizeof where, "%s:%lu", name, lineno);
        jl_object o;
        if (jl_parse(line, (size_t)n, &o, err, sizeof err) != 0) {
            fprintf(stderr, "%s: invalid JSON: %s; skipped\n", where, err);
            r->skipped++;
            continue;
        }
        const jl_field *id = jl_get(&o, "id"), *text = jl_get(&o, "text");
        int rc = 0;
        if (!id || !text) {
            fprintf(stderr, "%s: missing \"%s\" (each line needs \"id\" and "
                    "\"text\"); skipped\n", where, id ? "text" : "id");
            r->skipped++;
        } else {
            rc = add_doc(r, where, id->value, id->value_len, text->value,
                         text->value_len, &o, NULL);
        }
        jl_free(&o);
        if (rc != 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: read error: %s\n", name, strerror(errno));
        r->skipped++;
    }
    free(line);
    return r->errors ? -1 : 0;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Index one path: a directory (recursively), a .jsonl file or a text file. */
static int index_path(run *r, const char *path, bool explicit)
{
    if (interrupted)
        return 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s; skipped\n", path, strerror(errno));
        r->skipped++;
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        struct dirent **names;
        int n = scandir(path, &names, NULL, alphasort);
        if (n < 0) {
            fprintf(stderr, "%s: %s; skipped\n", path, strerror(errno));
            r->skipped++;
            return 0;
        }
        int rc = 0;
        for (int i = 0; i < n; i++) {
            const char *e = names[i]->d_name;
            if (rc == 0 && e[0] != '.') {
                size_t len = strlen(path) + strlen(e) + 2;
                char *sub = malloc(len);
                snprintf(sub, len, "%s%s%s", path,
                         has_suffix(path, "/") ? "" : "/", e);
                rc = index_path(r, sub, false);
                free(sub);
            }
            free(names[i]);
        }
        free(names);
        return rc;
    }
    bool jsonl = has_suffix(path, ".jsonl");
    if (!jsonl && !has_suffix(path, ".txt") && !has_suffix(path, ".md")) {
        if (explicit) {
            fprintf(stderr, "%s: not a .txt, .md or .jsonl file; skipped\n", path);
            r->skipped++;
        }
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s; skipped\n", path, strerror(errno));
        r->skipped++;
        return 0;
    }
    int rc;
    if (jsonl) {
        rc = index_jsonl(r, f, path);
    } else {
        size_t len;
        char *text = slurp(f, &len);
        if (!text) {
            fprintf(stderr, "%s: cannot read (out of memory or I/O error); skipped\n",
                    path);
            r->skipped++;
            rc = 0;
        } else {
            rc = add_doc(r, path, path, strlen(path), text, len, NULL, &text);
            free(text);
        }
    }
    fclose(f);
    return rc;
}

/* Sum the sizes of the files under path (for the ETA). */
static unsigned long long total_size(const char *path, int depth)
{
    struct stat st;
    if (depth > 64 || stat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return (unsigned long long)st.st_size;
    DIR *d = opendir(path);
    unsigned long long sum = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        char *sub = malloc(len);
        snprintf(sub, len, "%s/%s", path, de->d_name);
        sum += total_size(sub, depth + 1);
        free(sub);
    }
    if (d)
        closedir(d);
    return sum;
}

static const char index_help[] =
    "usage: edusearch index [--index DIR] [--ram-mb N] [--threads N]\n"
    "                       [--position-pairs FILE] PATH...\n"
    "Add documents to the index (creating it if needed) and commit.\n"
    "  PATH          a .txt or .md file (id = the path as given; title, date,\n"
    "                agency, docno ... are recognized in official documents),\n"
    "                a .jsonl file (one {\"id\":..,\"text\":..} per line;\n"
    "                other string fields such as title, date, source are stored\n"
    "                and searchable as field:term), a directory (recursively),\n"
    "                or - for JSONL on standard input.\n"
    "  --index DIR   index directory (default: see `edusearch --help`)\n"
    "  --ram-mb N    flush a segment every N MiB of buffered postings (default 64)\n"
    "  --threads N   analysis threads: 0 = one per CPU, at most 8 (default);\n"
    "                1 = none. The index is the same for every N.\n"
    "  --position-pairs FILE\n"
    "                the CJK character pairs to index with positions, one per\n"
    "                line (# comments; an empty file: none), instead of the\n"
    "                built-in 48 common pairs of policy text. Phrases through\n"
    "                them are verified faster; results never change.\n"
    "                bench/common_pairs.py writes such a list from a corpus.\n"
    "A document whose id is already indexed is replaced; one whose text and\n"
    "fields are unchanged is skipped. Bad files or lines\n"
    "are reported as file:line: reason and skipped. Ctrl-C stops reading and\n"
    "commits what was added.\n";

/* The pairs of --position-pairs FILE: one per line, surrounding blanks
 * dropped, empty and # lines skipped; *list and its strings are the
 * caller's (free_pairs). False, with a message, if FILE cannot be read. */
static bool read_pairs(const char *path, char ***list, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_error("index: --position-pairs %s: %s", path, strerror(errno));
        return false;
    }
    char *line = NULL;
    size_t cap = 0, have = 0;
    ssize_t len;
    bool ok = true;
    *list = NULL;
    *n = 0;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        char *b = line, *e = line + len;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (b == e || *b == '#')
            continue;
        *e = '\0';
        if (*n == have) {
            size_t grow = have ? 2 * have : 64;
            char **l = realloc(*list, grow * sizeof **list);
            ok = l != NULL;
            if (ok) {
                *list = l;
                have = grow;
            }
        }
        if (ok && !((*list)[*n] = strdup(b)))
            ok = false;
        if (ok)
            (*n)++;
    }
    if (!ok) {
        cli_error("index: out of memory reading %s", path);
    } else if (ferror(f)) {
        cli_error("index: --position-pairs %s: %s", path, strerror(errno));
        ok = false;
    }
    free(line);
    fclose(f);
    return ok;
}

static void free_pairs(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

int cmd_index(int argc, char **argv)
{
    const char *dir_opt = NULL, *ram = NULL, *threads = NULL, *pairs_file = NULL;
    bool bad = false;
    int first = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(index_help, stdout);
            return 0;
        }
        if (cli_opt_value(argc, argv, &i, "--index", &dir_opt, &bad) ||
            cli_opt_value(argc, argv, &i, "--ram-mb", &ram, &bad) ||
            cli_opt_value(argc, argv, &i, "--threads", &threads, &bad) ||
            cli_opt_value(argc, argv, &i, "--position-pairs", &pairs_file, &bad)) {
            if (bad)
                return EXIT_ERROR;
            continue;
        }
        if (!strcmp(argv[i], "--")) {
            first = i + 1;
            break;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("index: unknown option %s (see edusearch index --help)", argv[i]);
            return EXIT_ERROR;
        }
        first = i;
        break;
    }
    if (first >= argc) {
        cli_error("index: no PATH given (see edusearch index --help)");
        return EXIT_ERROR;
    }
    es_writer_options o = ES_WRITER_OPTIONS_INIT;
    size_t mb;
    if (ram) {
        if (!cli_parse_size(ram, &mb) || mb == 0 || mb > (1u << 20)) {
            cli_error("index: --ram-mb takes a number of MiB, 1..1048576");
            return EXIT_ERROR;
        }
        o.ram_buffer_bytes = mb << 20;
    }
    size_t nt;
    if (threads) {
        if (!cli_parse_size(threads, &nt) || nt > 64) {
            cli_error("index: --threads takes a number of threads, 0..64 (0 = one per CPU)");
            return EXIT_ERROR;
        }
        o.threads = (unsigned)nt;
    }
    char **pairs = NULL;
    size_t npairs = 0;
    if (pairs_file) {
        if (!read_pairs(pairs_file, &pairs, &npairs)) {
            free_pairs(pairs, npairs);
            return EXIT_ERROR;
        }
        static const char *const none[] = { NULL };
        o.position_pairs = npairs ? (const char *const *)pairs : none;
        o.nposition_pairs = npairs;
    }
    char *dir = cli_index_dir(dir_opt);
    if (!dir) {
        free_pairs(pairs, npairs);
        return EXIT_ERROR;
    }
    run r = { 0 };
    es_error err;
    es_status orc = es_writer_open(&r.w, dir, &o, &err);
    free_pairs(pairs, npairs);      /* read by es_writer_open only */
    if (orc != ES_OK) {
        cli_error("cannot open index %s for writing: %s%s%s", dir, err.message,
                  pairs_file ? "; pairs from " : "", pairs_file ? pairs_file : "");
        free(dir);
        return EXIT_ERROR;
    }
    if (es_index_open(&r.prev, dir, NULL) != ES_OK)
        r.prev = NULL;   /* a new index: nothing to compare with */
    r.tty = isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &r.t0);
    if (r.tty)
        for (int i = first; i < argc; i++)
            r.total_bytes += total_size(argv[i], 0);
    signal(SIGINT, on_sigint);
    int rc = 0;
    for (int i = first; i < argc && rc == 0 && !interrupted; i++)
        rc = !strcmp(argv[i], "-") ? index_jsonl(&r, stdin, "<stdin>")
                                   : index_path(&r, argv[i], true);
    progress(&r, true);
    int status = EXIT_HITS;
    if (rc == 0) {
        es_status crc = es_writer_commit(r.w);
        if (crc == ES_EINVAL || crc == ES_ELIMIT) {
            /* a document queued for analysis was refused: report, commit the rest */
            fprintf(stderr, "edusearch: %s; skipped\n", es_writer_errmsg(r.w));
            r.skipped++;
            crc = es_writer_commit(r.w);
        }
        if (crc != ES_OK) {
            cli_error("commit failed, the index keeps its previous commit: %s",
                      es_writer_errmsg(r.w));
            status = EXIT_ERROR;
        } else if (interrupted) {
            fprintf(stderr, "edusearch: interrupted; committed the %zu documents "
                    "indexed so far\n", r.docs);
            status = 130;
        }
    } else {
        status = EXIT_ERROR;
    }
    if (status == EXIT_HITS && r.skipped)
        fprintf(stderr, "edusearch: indexed %zu documents, skipped %zu (see above)\n",
                r.docs, r.skipped);
    if (r.tty && r.unchanged)
        fprintf(stderr, "edusearch: %zu unchanged documents not re-indexed\n",
                r.unchanged);
    es_index_free(r.prev);
    es_writer_free(r.w);
    free(dir);
    return status == EXIT_HITS && r.skipped ? EXIT_ERROR : status;
}
