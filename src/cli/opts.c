/*
 * cli/opts.c — option parsing and help for every subcommand.
 *
 * getopt_long would need a second table per command and prints its own
 * messages; this parser reads the one cli_opt table that also prints
 * --help, accepts "--name value", "--name=value", "-x value" and "-xvalue",
 * treats "--" as the end of options, and reports the first unknown or
 * incomplete option in one line.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const cli_opt help_opt = {"help", 'h', NULL, "show this help"};

int cli_usage_error(const cli_cmd *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "flowlens %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'flowlens %s --help')\n", cmd->name);
    return CLI_EXIT_USAGE;
}

void cli_print_help(const cli_cmd *cmd)
{
    printf("usage: flowlens %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    printf("\noptions:\n");
    for (const cli_opt *o = cmd->opts; o && o->lng; o++) {
        char left[64];
        if (o->shrt)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->shrt, o->lng, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->lng, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        printf("  %-28s %s\n", left, o->help);
    }
    printf("  %-28s %s\n", "-h, --help", help_opt.help);
}

static const cli_opt *find_long(const cli_cmd *cmd, const char *name, size_t len)
{
    for (const cli_opt *o = cmd->opts; o && o->lng; o++)
        if (strlen(o->lng) == len && strncmp(o->lng, name, len) == 0)
            return o;
    if (len == 4 && strncmp(name, "help", 4) == 0)
        return &help_opt;
    return NULL;
}

static const cli_opt *find_short(const cli_cmd *cmd, char c)
{
    for (const cli_opt *o = cmd->opts; o && o->lng; o++)
        if (o->shrt == c)
            return o;
    return c == 'h' ? &help_opt : NULL;
}

static int push(const cli_cmd *cmd, cli_args *a, const cli_opt *o, const char *val)
{
    if (a->n >= CLI_MAX_ARGS)
        return cli_usage_error(cmd, "too many options");
    a->v[a->n].opt = o;
    a->v[a->n].val = val;
    a->n++;
    return CLI_EXIT_OK;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a)
{
    int only_pos = 0;

    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const cli_opt *o;
        const char *val = NULL;

        if (only_pos || s[0] != '-' || s[1] == '\0') {
            if (a->npos >= CLI_MAX_ARGS)
                return cli_usage_error(cmd, "too many arguments");
            a->pos[a->npos++] = s;
            continue;
        }
        if (strcmp(s, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (s[1] == '-') {
            const char *eq = strchr(s + 2, '=');
            size_t len = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
            o = find_long(cmd, s + 2, len);
            if (o == NULL)
                return cli_usage_error(cmd, "unknown option '--%.*s'", (int)len, s + 2);
            if (eq && !o->arg)
                return cli_usage_error(cmd, "option '--%s' takes no value", o->lng);
            if (eq)
                val = eq + 1;
        } else {
            o = find_short(cmd, s[1]);
            if (o == NULL)
                return cli_usage_error(cmd, "unknown option '-%c'", s[1]);
            if (s[2] != '\0') {
                if (!o->arg)
                    return cli_usage_error(cmd, "unknown option '%s'", s);
                val = s + 2;
            }
        }
        if (o == &help_opt) {
            cli_print_help(cmd);
            return -1;
        }
        if (o->arg && val == NULL) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "option '--%s' needs a value (%s)", o->lng, o->arg);
            val = argv[++i];
        }
        if (push(cmd, a, o, val) != CLI_EXIT_OK)
            return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

const char *cli_get(const cli_args *a, const char *lng)
{
    const char *v = NULL;

    for (int i = 0; i < a->n; i++)
        if (strcmp(a->v[i].opt->lng, lng) == 0)
            v = a->v[i].val;
    return v;
}

int cli_has(const cli_args *a, const char *lng)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->v[i].opt->lng, lng) == 0)
            return 1;
    return 0;
}

static int truthy(const char *v, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static const cli_opt *find_opt_any_command(const char *key)
{
    for (const cli_cmd *c = cli_commands; c->name; c++)
        for (const cli_opt *o = c->opts; o && o->lng; o++)
            if (strcmp(o->lng, key) == 0)
                return o;
    return NULL;
}

static int given_on_command_line(const cli_args *a, int ncli, const char *lng)
{
    for (int i = 0; i < ncli; i++)
        if (strcmp(a->v[i].opt->lng, lng) == 0)
            return 1;
    return 0;
}

int cli_apply_config(const cli_cmd *cmd, cli_args *a, const fl_config *c)
{
    int ncli = a->n;

    for (size_t i = 0; i < fl_config_count(c); i++) {
        const fl_config_entry *en = fl_config_at(c, i);
        const cli_opt *o;
        int on;

        if (en->section[0] != '\0' && strcmp(en->section, cmd->name) != 0) {
            int known = 0;
            for (const cli_cmd *k = cli_commands; k->name; k++)
                known |= strcmp(k->name, en->section) == 0;
            if (!known)
                return cli_usage_error(cmd, "config line %ld: unknown section [%s]", en->line,
                                       en->section);
            continue;
        }
        o = find_long(cmd, en->key, strlen(en->key));
        if (o == NULL || o == &help_opt || strcmp(en->key, "config") == 0) {
            if (en->section[0] == '\0' && find_opt_any_command(en->key) &&
                strcmp(en->key, "config") != 0)
                continue; /* a global key for other subcommands */
            return cli_usage_error(cmd, "config line %ld: unknown key '%s'%s%s%s", en->line,
                                   en->key, en->section[0] ? " in [" : "", en->section,
                                   en->section[0] ? "]" : "");
        }
        if (given_on_command_line(a, ncli, o->lng)) {
            /* the command line wins; repeatable keys too */
            continue;
        }
        if (!o->arg) {
            if (truthy(en->value, &on) != 0)
                return cli_usage_error(cmd, "config line %ld: '%s' must be true or false, not '%s'",
                                       en->line, en->key, en->value);
            if (!on)
                continue;
        }
        if (push(cmd, a, o, o->arg ? en->value : NULL) != CLI_EXIT_OK)
            return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}
