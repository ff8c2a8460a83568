/*
 * cmd_search.c: `edusearch [search]`: runs one query (or one per line of
 * --queries FILE) against the index and prints hits for people (rank,
 * title, id, date, score and a highlighted snippet; colour on a terminal)
 * or for programs (--json: JSON Lines; --count: just the number), or how
 * a query is matched (--explain: es_query_explain, then the number).
 */
#include "cli.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct search_opts {
    es_search_options so;
    bool json, count, color, explain;
} search_opts;

/* Print how query q is matched against ix (es_query_explain); false (with
 * the error printed) if it cannot be described. */
static bool print_explain(es_index *ix, const es_query *query, const char *q)
{
    es_error err;
    size_t len = 0;
    char *text = NULL;
    es_status rc = es_query_explain(ix, query, NULL, 0, &len, &err);
    if (rc == ES_OK && !(text = malloc(len + 1)))
        rc = ES_ENOMEM;
    if (rc == ES_OK)
        rc = es_query_explain(ix, query, text, len + 1, &len, &err);
    if (rc != ES_OK)
        cli_error("explain \"%s\": %s", q, rc == ES_ENOMEM ? "out of memory" : err.message);
    else
        fputs(text, stdout);
    free(text);
    return rc == ES_OK;
}

/* Print hit i of r as one JSON object line. */
static void print_json_hit(const es_results *r, size_t i, size_t rank,
                           const char *query)
{
    size_t len;
    const char *s;
    fputs("{", stdout);
    if (query) {
        fputs("\"query\":", stdout);
        json_put_string(stdout, query, strlen(query));
        fputs(",", stdout);
    }
    printf("\"rank\":%zu,\"id\":", rank);
    s = es_results_id(r, i, &len);
    json_put_string(stdout, s, len);
    const char *names[] = { "title", "date" };
    for (int k = 0; k < 2; k++) {
        printf(",\"%s\":", names[k]);
        s = es_results_field(r, i, names[k], &len);
        if (s)
            json_put_string(stdout, s, len);
        else
            fputs("null", stdout);
    }
    printf(",\"score\":%.4f,\"snippet\":", es_results_score(r, i));
    s = es_results_snippet(r, i, &len);
    json_put_string(stdout, s ? s : "", s ? len : 0);
    fputs(",\"matches\":[", stdout);
    const es_range *m;
    size_t n = es_results_matches(r, i, &m);
    for (size_t k = 0; k < n; k++)
        printf("%s[%zu,%zu]", k ? "," : "", m[k].start, m[k].end);
    fputs("],", stdout);
    cli_print_json_fields(r, i);
    fputs("}\n", stdout);
}

void cli_print_json_fields(const es_results *r, size_t i)
{
    const char *name, *value;
    size_t len;
    fputs("\"fields\":{", stdout);
    for (size_t j = 0; es_results_field_at(r, i, j, &name, &value, &len) == ES_OK; j++) {
        if (j)
            fputc(',', stdout);
        json_put_string(stdout, name, strlen(name));
        fputc(':', stdout);
        json_put_string(stdout, value, len);
    }
    fputc('}', stdout);
}

/* Print a snippet indented on one line (its line breaks become spaces). */
static void print_snippet(const char *s, size_t len)
{
    fputs("   ", stdout);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n' || s[i] == '\r') {
            fputc(' ', stdout);
            continue;
        }
        fputc(s[i], stdout);
    }
    fputc('\n', stdout);
}

/* Print hit i for people. */
static void print_human_hit(const es_results *r, size_t i, size_t rank,
                            const search_opts *o)
{
    size_t idlen, tlen = 0, dlen = 0, slen = 0;
    const char *id = es_results_id(r, i, &idlen);
    const char *title = es_results_field(r, i, "title", &tlen);
    const char *date = es_results_field(r, i, "date", &dlen);
    const char *snip = es_results_snippet(r, i, &slen);
    const char *b = o->color ? "\033[1m" : "", *dim = o->color ? "\033[2m" : "",
               *off = o->color ? "\033[0m" : "";
    printf("%zu. %s%.*s%s\n", rank, b, (int)(title ? tlen : idlen),
           title ? title : id, off);
    printf("   %s%.*s", dim, (int)idlen, id);
    if (date && dlen)
        printf("  %.*s", (int)dlen, date);
    printf("  score %.2f%s\n", es_results_score(r, i), off);
    if (snip && slen)
        print_snippet(snip, slen);
}

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* For a long --queries run: at most once a second, move *ix to the index's
 * newest commit (es_index_reopen: the cache stays warm), so that a process
 * fed queries on stdin sees what was indexed meanwhile. A reopen that fails
 * is reported and the previous commit is searched on. */
static void refresh(es_index **ix, double *checked)
{
    double t = now_s();
    if (t - *checked < 1.0)
        return;
    *checked = t;
    es_index *nx = NULL;
    es_error err;
    if (es_index_reopen(*ix, &nx, &err) != ES_OK) {
        cli_error("the index changed but cannot be reopened: %s; searching the "
                  "commit opened before", err.message);
        return;
    }
    if (nx) {
        es_index_free(*ix);
        *ix = nx;
    }
}

/* Run one query; prints its hits; returns EXIT_HITS/NOHITS/ERROR. */
static int run_query(es_index *ix, const char *q, const search_opts *o,
                     bool many, size_t *hits_out)
{
    es_query *query = NULL;
    es_error err;
    if (es_query_parse(&query, q, strlen(q), &err) != ES_OK) {
        cli_error("query \"%s\": at byte %zu: %s", q, err.position, err.message);
        return EXIT_ERROR;
    }
    if (o->explain && !print_explain(ix, query, q)) {
        es_query_free(query);
        return EXIT_ERROR;
    }
    es_search_options so = o->so;
    if (o->count || o->explain)
        so.limit = 0;
    es_results *r = NULL;
    if (es_search(&r, ix, query, &so, &err) != ES_OK) {
        cli_error("search \"%s\": %s", q, err.message);
        es_query_free(query);
        return EXIT_ERROR;
    }
    uint64_t total = es_results_total(r);
    if (o->explain) {
        printf("matching: %llu document%s\n", (unsigned long long)total,
               total == 1 ? "" : "s");
    } else if (o->count) {
        if (many)
            printf("%llu\t%s\n", (unsigned long long)total, q);
        else
            printf("%llu\n", (unsigned long long)total);
    } else {
        size_t n = es_results_count(r);
        for (size_t i = 0; i < n; i++) {
            if (o->json)
                print_json_hit(r, i, so.offset + i + 1, many ? q : NULL);
            else
                print_human_hit(r, i, so.offset + i + 1, o);
        }
        if (!o->json && !many && n && total > so.offset + n)
            printf("(%llu of %llu matching documents shown; --offset %zu for more)\n",
                   (unsigned long long)n, (unsigned long long)total, so.offset + n);
    }
    *hits_out = (size_t)total;
    es_results_free(r);
    es_query_free(query);
    return total ? EXIT_HITS : EXIT_NOHITS;
}

static const char search_help[] =
    "usage: edusearch [search] [options] QUERY...\n"
    "Search the index. Words are all required; \"quoted phrases\" match exactly;\n"
    "OR, NOT/-word, parentheses, field:term (title:, date:2024..2025) work.\n"
    "  --index DIR       index directory (default: see `edusearch --help`)\n"
    "  --limit N         hits to show (default 10)\n"
    "  --offset N        hits to skip (default 0)\n"
    "  --sort score|date order (default score)\n"
    "  --json            JSON Lines: id, title, date, score, snippet, matches, fields\n"
    "  --count           print only the number of matching documents\n"
    "  --explain         print how the query is matched instead of hits: the tree\n"
    "                    after analysis, the index keys each phrase needs and how\n"
    "                    many documents hold each, the terms a prefix* expands\n"
    "                    to, then the number that match\n"
    "  --queries FILE    run one query per line of FILE (- = stdin); with --count\n"
    "                    prints count<TAB>query per line; commits made meanwhile\n"
    "                    are searched from the next query on (checked each second)\n"
    "  --threads N       threads one search may use: 0 = one per CPU, at most 8\n"
    "                    (default); 1 = the main thread only; results are the same\n"
    "Exit status: 0 if anything matched, 1 if nothing did, 2 on error.\n";

int cmd_search(int argc, char **argv)
{
    search_opts o = { ES_SEARCH_OPTIONS_INIT, false, false, false, false };
    const char *dir_opt = NULL, *v = NULL, *queries = NULL;
    es_index_options io = ES_INDEX_OPTIONS_INIT;
    bool bad = false;
    char *qbuf = NULL;
    size_t qlen = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(search_help, stdout);
            free(qbuf);
            return 0;
        }
        if (!strcmp(a, "--json")) { o.json = true; continue; }
        if (!strcmp(a, "--count")) { o.count = true; continue; }
        if (!strcmp(a, "--explain")) { o.explain = true; continue; }
        if (cli_opt_value(argc, argv, &i, "--index", &dir_opt, &bad) ||
            cli_opt_value(argc, argv, &i, "--queries", &queries, &bad)) {
            if (bad) goto usage_error;
            continue;
        }
        if (cli_opt_value(argc, argv, &i, "--limit", &v, &bad)) {
            if (bad || !cli_parse_size(v, &o.so.limit)) {
                cli_error("--limit takes a number");
                goto usage_error;
            }
            continue;
        }
        if (cli_opt_value(argc, argv, &i, "--threads", &v, &bad)) {
            size_t nt;
            if (bad || !cli_parse_size(v, &nt) || nt > 64) {
                cli_error("--threads takes a number of threads, 0..64 (0 = one per CPU)");
                goto usage_error;
            }
            io.search_threads = (unsigned)nt;
            continue;
        }
        if (cli_opt_value(argc, argv, &i, "--offset", &v, &bad)) {
            if (bad || !cli_parse_size(v, &o.so.offset)) {
                cli_error("--offset takes a number");
                goto usage_error;
            }
            continue;
        }
        if (cli_opt_value(argc, argv, &i, "--sort", &v, &bad)) {
            if (!bad && !strcmp(v, "score")) o.so.sort = ES_SORT_SCORE;
            else if (!bad && !strcmp(v, "date")) o.so.sort = ES_SORT_DATE;
            else {
                cli_error("--sort takes score or date");
                goto usage_error;
            }
            continue;
        }
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            cli_error("unknown option %s (see edusearch search --help)", a);
            goto usage_error;
        }
        /* query words: join the remaining non-option arguments with spaces */
        size_t n = strlen(a);
        char *nb = realloc(qbuf, qlen + n + 2);
        if (!nb)
            goto usage_error;
        qbuf = nb;
        if (qlen)
            qbuf[qlen++] = ' ';
        memcpy(qbuf + qlen, a, n + 1);
        qlen += n;
    }
    if (!qbuf && !queries) {
        cli_error("no query given (see edusearch search --help)");
        goto usage_error;
    }
    o.color = !o.json && isatty(STDOUT_FILENO);
    if (o.color) {
        o.so.hl_open = "\033[1;31m";
        o.so.hl_close = "\033[0m";
    }
    char *dir = cli_index_dir(dir_opt);
    if (!dir)
        goto usage_error;
    es_index *ix = NULL;
    es_error err;
    es_status rc = es_index_open_opts(&ix, dir, &io, &err);
    if (rc != ES_OK) {
        if (rc == ES_ENOTFOUND)
            cli_error("no index at %s; create one with: edusearch index "
                      "--index %s FILES... (or set EDUSEARCH_INDEX)", dir, dir);
        else
            cli_error("cannot open index %s: %s", dir, err.message);
        free(dir);
        free(qbuf);
        return EXIT_ERROR;
    }
    free(dir);
    int status = EXIT_NOHITS;
    size_t hits;
    if (queries) {
        FILE *f = strcmp(queries, "-") ? fopen(queries, "r") : stdin;
        if (!f) {
            cli_error("cannot open --queries file %s", queries);
            status = EXIT_ERROR;
        } else {
            char *line = NULL;
            size_t cap = 0;
            ssize_t n;
            bool any = false, err_seen = false;
            double checked = now_s();
            while ((n = getline(&line, &cap, f)) >= 0) {
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                    line[--n] = '\0';
                if (n == 0)
                    continue;
                refresh(&ix, &checked);
                int s = run_query(ix, line, &o, true, &hits);
                if (f == stdin)
                    fflush(stdout);    /* a caller feeding queries waits for each answer */
                any |= s == EXIT_HITS;
                err_seen |= s == EXIT_ERROR;
            }
            free(line);
            if (f != stdin)
                fclose(f);
            status = err_seen ? EXIT_ERROR : any ? EXIT_HITS : EXIT_NOHITS;
        }
    } else {
        status = run_query(ix, qbuf, &o, false, &hits);
    }
    es_index_free(ix);
    free(qbuf);
    return status;
usage_error:
    free(qbuf);
    return EXIT_ERROR;
}
