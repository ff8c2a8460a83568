/*
 * cli.h: what the edusearch subcommands share: exit codes, error printing,
 * the default index location and option parsing helpers. The command uses
 * only the public API (include/edusearch.h).
 */
#ifndef ES_TOOLS_CLI_H
#define ES_TOOLS_CLI_H

#include <edusearch.h>

#include <stdbool.h>
#include <stdio.h>

/* grep-like exit codes */
#define EXIT_HITS 0
#define EXIT_NOHITS 1
#define EXIT_ERROR 2

/* Print "edusearch: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The index directory: --index DIR if given, else $EDUSEARCH_INDEX, else
 * $XDG_DATA_HOME/edusearch, else ~/.local/share/edusearch. Returns a
 * malloc'ed path, or NULL (with a message) if none can be formed. */
char *cli_index_dir(const char *opt);

/* If argv[*i] is `--name VALUE` or `--name=VALUE`, set *value, advance *i
 * and return true. A missing value prints an error and sets *bad. */
bool cli_opt_value(int argc, char **argv, int *i, const char *name,
                   const char **value, bool *bad);

/* Parse a non-negative decimal; false on junk. */
bool cli_parse_size(const char *s, size_t *out);

/* Print `"fields":{...}` of hit i of r (every stored field, in name order)
 * to stdout as JSON, without a separator around it. cmd_search.c. */
void cli_print_json_fields(const es_results *r, size_t i);

int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);

#endif
