/*
 * edusearch.c: the edusearch command's entry point: subcommand dispatch,
 * --help and --version, and the helpers every subcommand shares (cli.h).
 * A first argument that is not a subcommand is a search query, so
 * `edusearch 集团化办学` searches the default index.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: edusearch [search] [options] QUERY     search the index\n"
    "       edusearch index [--index DIR] PATH...   add .txt/.md/.jsonl files (- = JSONL on stdin)\n"
    "       edusearch get [--index DIR] [--json] ID...  print stored documents by id\n"
    "       edusearch export [--index DIR]          every document as JSONL (what index reads)\n"
    "       edusearch delete [--index DIR] ID...    delete documents by id\n"
    "       edusearch stats [--index DIR]           documents, terms, segments, bytes\n"
    "       edusearch check [--index DIR]           verify every file of the index\n"
    "       edusearch optimize [--index DIR]        merge all segments into one\n"
    "       edusearch tokenize [--words] [TEXT]     show how text is analyzed (stdin if no TEXT)\n"
    "\n"
    "The index is --index DIR, else $EDUSEARCH_INDEX, else $XDG_DATA_HOME/edusearch,\n"
    "else ~/.local/share/edusearch. `edusearch COMMAND --help` describes a command.\n"
    "Exit status: 0 if something was found (or the command succeeded), 1 if a\n"
    "search found nothing, 2 on error.\n";

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("edusearch: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Join a and b with a slash into a new string. */
static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

char *cli_index_dir(const char *opt)
{
    if (opt && *opt)
        return strdup(opt);
    const char *env = getenv("EDUSEARCH_INDEX");
    if (env && *env)
        return strdup(env);
    env = getenv("XDG_DATA_HOME");
    if (env && *env)
        return join(env, "edusearch");
    env = getenv("HOME");
    if (env && *env)
        return join(env, ".local/share/edusearch");
    cli_error("no index location: pass --index DIR or set EDUSEARCH_INDEX");
    return NULL;
}

bool cli_opt_value(int argc, char **argv, int *i, const char *name,
                   const char **value, bool *bad)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    if (*i + 1 >= argc) {
        cli_error("%s needs a value", name);
        *bad = true;
        return true;
    }
    *value = argv[++*i];
    return true;
}

bool cli_parse_size(const char *s, size_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return false;
    *out = (size_t)v;
    return true;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "search", cmd_search },     { "index", cmd_index },
        { "delete", cmd_delete },     { "stats", cmd_stats },
        { "check", cmd_check },       { "optimize", cmd_optimize },
        { "tokenize", cmd_tokenize }, { "get", cmd_get },
        { "export", cmd_export },
    };
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_ERROR;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("edusearch %s (libedusearch %s)\n", ES_VERSION_STRING, es_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    /* not a subcommand: the arguments are a search */
    return cmd_search(argc, argv);
}
