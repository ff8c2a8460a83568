/*
 * cmd_manage.c: the maintenance subcommands: delete, get (print stored
 * documents by id), stats, check, optimize, and tokenize (which shows how
 * the analyzer sees a text).
 */
#include "cli.h"
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Parse [--index DIR] [--help] (and [--json] into *json unless json is
 * NULL) for a subcommand; options end at the first positional argument,
 * whose index *first gets. Returns -1 to go on, else the exit status: 0
 * (help shown) or EXIT_ERROR (usage error, reported). */
static int parse_options(int argc, char **argv, const char *help,
                         const char **dir, bool *json, int *first)
{
    bool bad = false;
    *first = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return 0;
        }
        if (json && !strcmp(argv[i], "--json")) {
            *json = true;
            continue;
        }
        if (cli_opt_value(argc, argv, &i, "--index", dir, &bad)) {
            if (bad)
                return EXIT_ERROR;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("%s: unknown option %s (see edusearch %s --help)", argv[0],
                      argv[i], argv[0]);
            return EXIT_ERROR;
        }
        *first = i;
        return -1;
    }
    return -1;
}

/* parse_options without --json. */
static int parse_common(int argc, char **argv, const char *help,
                        const char **dir, int *first)
{
    return parse_options(argc, argv, help, dir, NULL, first);
}

/* Report a failed open (rc) of the index dir, for writing or for reading,
 * with the library's message msg. Nothing if rc is ES_OK. */
static void open_failed(es_status rc, const char *dir, bool writing, const char *msg)
{
    if (rc == ES_ENOTFOUND)
        cli_error("no index at %s; create one with: edusearch index --index %s FILES...",
                  dir, dir);
    else if (rc != ES_OK)
        cli_error("cannot open index %s%s: %s", dir, writing ? " for writing" : "", msg);
}

/* Open the writer for dir (must exist). */
static es_writer *open_writer(const char *dir_opt)
{
    char *dir = cli_index_dir(dir_opt);
    if (!dir)
        return NULL;
    es_writer_options o = ES_WRITER_OPTIONS_INIT;
    o.create = 0;
    es_writer *w = NULL;
    es_error err;
    es_status rc = es_writer_open(&w, dir, &o, &err);
    open_failed(rc, dir, true, err.message);
    free(dir);
    return w;
}

/* Open a read snapshot of dir. */
static es_index *open_index(const char *dir_opt)
{
    char *dir = cli_index_dir(dir_opt);
    if (!dir)
        return NULL;
    es_index *ix = NULL;
    es_error err;
    es_status rc = es_index_open(&ix, dir, &err);
    open_failed(rc, dir, false, err.message);
    free(dir);
    return ix;
}

/* End a writer subcommand: report the failed commit or optimize (`what`)
 * unless ok, free w, and return the exit status. */
static int writer_done(es_writer *w, bool ok, const char *what)
{
    int status = 0;
    if (!ok) {
        cli_error("%s failed, the index keeps its previous commit: %s", what,
                  es_writer_errmsg(w));
        status = EXIT_ERROR;
    }
    es_writer_free(w);
    return status;
}

int cmd_delete(int argc, char **argv)
{
    const char *dir = NULL;
    int first, p = parse_common(argc, argv,
        "usage: edusearch delete [--index DIR] ID...\n"
        "Delete the documents with these ids and commit. Unknown ids are ignored.\n",
        &dir, &first);
    if (p >= 0)
        return p;
    if (first >= argc) {
        cli_error("delete: no ID given");
        return EXIT_ERROR;
    }
    es_writer *w = open_writer(dir);
    if (!w)
        return EXIT_ERROR;
    for (int i = first; i < argc; i++)
        if (es_writer_delete(w, argv[i], strlen(argv[i])) != ES_OK) {
            cli_error("delete %s: %s", argv[i], es_writer_errmsg(w));
            es_writer_free(w);
            return EXIT_ERROR;
        }
    return writer_done(w, es_writer_commit(w) == ES_OK, "commit");
}

/* Print document r[0] (es_index_get) for people: "id: ...", its fields a
 * line each, a blank line, the text. */
static void print_doc(const es_results *r)
{
    size_t len;
    const char *s = es_results_id(r, 0, &len), *name;
    printf("id: %.*s\n", (int)len, s);
    for (size_t j = 0; es_results_field_at(r, 0, j, &name, &s, &len) == ES_OK; j++)
        printf("%s: %.*s\n", name, (int)len, s);
    s = es_results_text(r, 0, &len);
    putchar('\n');
    fwrite(s, 1, len, stdout);
    if (len && s[len - 1] != '\n')
        putchar('\n');
}

int cmd_get(int argc, char **argv)
{
    static const char help[] =
        "usage: edusearch get [--index DIR] [--json] ID...\n"
        "Print the stored documents with these ids: for people \"id:\" and every\n"
        "field a line, a blank line, then the text as it was indexed (documents\n"
        "apart by a line with a form feed); with --json one object per line:\n"
        "{\"id\":..,\"fields\":{..},\"text\":..}. Exit status 1 if an id is not in\n"
        "the index (each one is named on stderr).\n";
    const char *dir = NULL;
    bool json = false;
    int first, p = parse_options(argc, argv, help, &dir, &json, &first);
    if (p >= 0)
        return p;
    if (first >= argc) {
        cli_error("get: no ID given");
        return EXIT_ERROR;
    }
    es_index *ix = open_index(dir);
    if (!ix)
        return EXIT_ERROR;
    int status = EXIT_HITS;
    for (int i = first; i < argc; i++) {
        es_results *r = NULL;
        es_error err;
        es_status rc = es_index_get(&r, ix, argv[i], strlen(argv[i]), &err);
        if (rc == ES_ENOTFOUND) {
            cli_error("get: no document %s in the index", argv[i]);
            status = status == EXIT_ERROR ? status : EXIT_NOHITS;
            continue;
        }
        if (rc != ES_OK) {
            cli_error("get %s: %s", argv[i], err.message);
            status = EXIT_ERROR;
            continue;
        }
        if (json) {
            size_t len;
            const char *s = es_results_id(r, 0, &len);
            fputs("{\"id\":", stdout);
            json_put_string(stdout, s, len);
            fputc(',', stdout);
            cli_print_json_fields(r, 0);
            fputs(",\"text\":", stdout);
            s = es_results_text(r, 0, &len);
            json_put_string(stdout, s, len);
            fputs("}\n", stdout);
        } else {
            if (i > first)
                fputs("\f\n", stdout);
            print_doc(r);
        }
        es_results_free(r);
    }
    es_index_free(ix);
    return status;
}

/* Export state: documents written, those not written exactly. */
typedef struct exporter {
    uint64_t docs, lossy, dropped;
} exporter;

/* es_doc_cb of export: the document as one JSONL line that `edusearch index`
 * reads back: "id", "text" and every field as a key of its own. */
static int export_doc(const es_results *r, void *p)
{
    exporter *x = p;
    const char *name, *value;
    size_t len;
    bool exact = true;
    const char *s = es_results_id(r, 0, &len);
    fputs("{\"id\":", stdout);
    exact &= json_put_string(stdout, s, len);
    fputs(",\"text\":", stdout);
    s = es_results_text(r, 0, &len);
    exact &= json_put_string(stdout, s, len);
    for (size_t j = 0; es_results_field_at(r, 0, j, &name, &value, &len) == ES_OK; j++) {
        if (!strcmp(name, "id") || !strcmp(name, "text")) {   /* set by a program */
            x->dropped++;
            continue;
        }
        fputc(',', stdout);
        json_put_string(stdout, name, strlen(name));
        fputc(':', stdout);
        exact &= json_put_string(stdout, value, len);
    }
    fputs("}\n", stdout);
    x->docs++;
    x->lossy += !exact;
    return ferror(stdout) != 0;
}

int cmd_export(int argc, char **argv)
{
    const char *dir = NULL;
    int first, p = parse_common(argc, argv,
        "usage: edusearch export [--index DIR] > FILE.jsonl\n"
        "Write every live document as one JSON object per line: \"id\", \"text\"\n"
        "and each stored field (recognized ones included) as a key, segment by\n"
        "segment. `edusearch index FILE.jsonl` reads it back, e.g. into a new\n"
        "index after a format change, without the original files.\n",
        &dir, &first);
    if (p >= 0)
        return p;
    if (first < argc) {
        cli_error("export: takes no arguments (see edusearch export --help)");
        return EXIT_ERROR;
    }
    es_index *ix = open_index(dir);
    if (!ix)
        return EXIT_ERROR;
    exporter x = { 0, 0, 0 };
    es_error err;
    es_status rc = es_index_documents(ix, export_doc, &x, &err);
    es_index_free(ix);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("export: write error: %s", strerror(errno));
        return EXIT_ERROR;
    }
    if (rc != ES_OK) {
        cli_error("export: %s", err.message);
        return EXIT_ERROR;
    }
    if (x.lossy)
        cli_error("export: %llu of %llu documents hold bytes that are not UTF-8; "
                  "they were written as U+FFFD", (unsigned long long)x.lossy,
                  (unsigned long long)x.docs);
    if (x.dropped)
        cli_error("export: %llu fields named \"id\" or \"text\" (set by a program) "
                  "cannot be keys of their own; left out", (unsigned long long)x.dropped);
    return 0;
}

int cmd_optimize(int argc, char **argv)
{
    const char *dir = NULL;
    int first, p = parse_common(argc, argv,
        "usage: edusearch optimize [--index DIR]\n"
        "Merge all segments into one, purging deleted documents, and commit.\n",
        &dir, &first);
    if (p >= 0)
        return p;
    es_writer *w = open_writer(dir);
    if (!w)
        return EXIT_ERROR;
    return writer_done(w, es_writer_optimize(w) == ES_OK, "optimize");
}

/* Facet callback: "count<TAB>value". */
static int print_facet(const char *value, size_t len, uint64_t count, void *p)
{
    (void)p;
    printf("%llu\t%.*s\n", (unsigned long long)count, (int)len, value);
    return 0;
}

static const char stats_help[] =
    "usage: edusearch stats [--index DIR] [--facet FIELD]\n"
    "Print documents, terms, segments and bytes on disk per file kind.\n"
    "  --facet FIELD  instead, count documents per value of FIELD (agency,\n"
    "                 type, year, ...): count<TAB>value, most frequent first\n";

int cmd_stats(int argc, char **argv)
{
    const char *dir = NULL, *facet = NULL;
    bool bad = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(stats_help, stdout);
            return 0;
        }
        if (cli_opt_value(argc, argv, &i, "--index", &dir, &bad) ||
            cli_opt_value(argc, argv, &i, "--facet", &facet, &bad)) {
            if (bad)
                return EXIT_ERROR;
            continue;
        }
        cli_error("stats: unexpected argument %s (see edusearch stats --help)", argv[i]);
        return EXIT_ERROR;
    }
    es_index *ix = open_index(dir);
    if (!ix)
        return EXIT_ERROR;
    if (facet) {
        es_error err;
        es_status rc = es_index_facet(ix, facet, print_facet, NULL, &err);
        if (rc != ES_OK)
            cli_error("stats --facet %s: %s", facet, err.message);
        es_index_free(ix);
        return rc == ES_OK ? 0 : EXIT_ERROR;
    }
    es_stats st = { .version = ES_STATS_VERSION };
    if (es_index_stats(ix, &st) != ES_OK) {
        cli_error("stats failed");
        es_index_free(ix);
        return EXIT_ERROR;
    }
    uint64_t total = st.bytes_manifest + st.bytes_dict + st.bytes_postings +
                     st.bytes_store + st.bytes_deletes;
    double raw = st.text_bytes ? (double)st.text_bytes : 1;
    printf("generation      %llu\n", (unsigned long long)st.generation);
    printf("documents       %llu\n", (unsigned long long)st.documents);
    printf("deleted         %llu\n", (unsigned long long)st.deleted);
    printf("terms           %llu\n", (unsigned long long)st.terms);
    printf("segments        %llu\n", (unsigned long long)st.segments);
    printf("text bytes      %llu\n", (unsigned long long)st.text_bytes);
    const struct { const char *name; uint64_t v; } kinds[] = {
        { "dictionary", st.bytes_dict }, { "postings", st.bytes_postings },
        { "stored", st.bytes_store },    { "deletes", st.bytes_deletes },
        { "manifest", st.bytes_manifest }, { "total", total },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        printf("bytes %-10s %12llu  %5.1f%% of text\n", kinds[i].name,
               (unsigned long long)kinds[i].v, 100.0 * (double)kinds[i].v / raw);
    es_index_free(ix);
    return 0;
}

int cmd_check(int argc, char **argv)
{
    const char *dir_opt = NULL;
    int first, p = parse_common(argc, argv,
        "usage: edusearch check [--index DIR]\n"
        "Verify every file of the index: headers, checksums, every block.\n"
        "Exit status 0 if intact, 2 with a report naming the damaged file.\n",
        &dir_opt, &first);
    if (p >= 0)
        return p;
    char *dir = cli_index_dir(dir_opt);
    if (!dir)
        return EXIT_ERROR;
    es_error rep;
    es_status rc = es_index_check(dir, &rep);
    if (rc == ES_OK)
        printf("%s: ok\n", dir);
    else
        cli_error("check %s: %s: %s", dir, es_strerror(rc), rep.message);
    free(dir);
    return rc == ES_OK ? 0 : EXIT_ERROR;
}

static const char *kind_name(es_token_kind k)
{
    switch (k) {
    case ES_TOKEN_HAN: return "han";
    case ES_TOKEN_BIGRAM: return "bigram";
    case ES_TOKEN_LATIN: return "latin";
    case ES_TOKEN_NUMBER: return "number";
    case ES_TOKEN_WORD: return "word";
    }
    return "?";
}

/* Print one token: kind, position(+span), byte range, term, original. */
static int print_token(const es_token *t, void *p)
{
    const char *text = p;
    printf("%-7s pos %-5u", kind_name(t->kind), t->position);
    if (t->span > 1)
        printf("+%-3u", t->span - 1);
    else
        printf("    ");
    printf(" bytes %6zu-%-6zu %.*s", t->start, t->end, (int)t->term_len, t->term);
    if (t->end - t->start != t->term_len ||
        memcmp(text + t->start, t->term, t->term_len) != 0)
        printf("   (text: %.*s)", (int)(t->end - t->start), text + t->start);
    putchar('\n');
    return 0;
}

int cmd_tokenize(int argc, char **argv)
{
    unsigned flags = ES_TOKENIZE_INDEX;
    int first = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs("usage: edusearch tokenize [--words|--all] [TEXT...]\n"
                  "Print the tokens of TEXT (or standard input): kind, position,\n"
                  "byte range in the original text, and the normalized term.\n"
                  "  --words  ICU dictionary words (what ranking uses) instead\n"
                  "  --all    both\n", stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--words")) { flags = ES_TOKENIZE_WORDS; continue; }
        if (!strcmp(argv[i], "--all")) {
            flags = ES_TOKENIZE_INDEX | ES_TOKENIZE_WORDS;
            continue;
        }
        first = i;
        break;
    }
    char *text = NULL;
    size_t len = 0;
    if (first < argc) {
        for (int i = first; i < argc; i++) {
            size_t n = strlen(argv[i]);
            char *nt = realloc(text, len + n + 2);
            if (!nt) {
                free(text);
                return EXIT_ERROR;
            }
            text = nt;
            if (len)
                text[len++] = ' ';
            memcpy(text + len, argv[i], n + 1);
            len += n;
        }
    } else {
        size_t cap = 1 << 16, got;
        text = malloc(cap + 1);
        while (text && (got = fread(text + len, 1, cap - len, stdin)) > 0) {
            len += got;
            if (len == cap) {
                char *nt = realloc(text, cap * 2 + 1);
                if (!nt)
                    break;
                text = nt;
                cap *= 2;
            }
        }
        if (text)
            text[len] = '\0';
    }
    if (!text) {
        cli_error("tokenize: out of memory");
        return EXIT_ERROR;
    }
    es_error err;
    es_status rc = es_tokenize(text, len, flags, print_token, text, &err);
    if (rc != ES_OK)
        cli_error("tokenize: %s", err.message);
    free(text);
    return rc == ES_OK ? 0 : EXIT_ERROR;
}
