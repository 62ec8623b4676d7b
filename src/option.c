#include "option.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

static const char *skip_space(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

int mc_opt_string(const struct mc_option *o, const char *v, void *field, char *err, size_t n)
{
	size_t cap = (size_t)o->max; /* field size */
	if (!*v) {
		snprintf(err, n, "empty value");
		return -EINVAL;
	}
	if (strlen(v) >= cap) {
		snprintf(err, n, "longer than %zu characters", cap - 1);
		return -EINVAL;
	}
	memcpy(field, v, strlen(v) + 1);
	return 0;
}

int mc_opt_name(const struct mc_option *o, const char *v, void *field, char *err, size_t n)
{
	for (const char *p = v; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
			snprintf(err, n, "expected a name of letters, digits, '_' or '-'");
			return -EINVAL;
		}
	}
	return mc_opt_string(o, v, field, err, n);
}

int mc_opt_int(const struct mc_option *o, const char *v, void *field, char *err, size_t n)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *skip_space(end) || x < o->min || x > o->max) {
		snprintf(err, n, "expected an integer from %ld to %ld, got '%s'", o->min, o->max, v);
		return -EINVAL;
	}
	*(int *)field = (int)x;
	return 0;
}

int mc_opt_bool(const struct mc_option *o, const char *v, void *field, char *err, size_t n)
{
	static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*(bool *)field = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*(bool *)field = false;
			return 0;
		}
	}
	snprintf(err, n, "expected true or false, got '%s'", v);
	return -EINVAL;
}

int mc_opt_choice(const struct mc_option *o, const char *v, void *field, char *err, size_t n)
{
	char list[160] = "";
	for (const struct mc_option_choice *c = o->choices; c->name; c++) {
		if (strcmp(v, c->name) == 0) {
			*(int *)field = c->value;
			return 0;
		}
		size_t l = strlen(list);
		snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "", c->name);
	}
	snprintf(err, n, "expected one of %s, got '%s'", list, v);
	return -EINVAL;
}

int mc_opt_size(const struct mc_option *o, const char *v, void *field, char *err, size_t n)
{
	int *wh = field;
	if (mc_parse_size(v, &wh[0], &wh[1])) {
		snprintf(err, n, "expected WIDTHxHEIGHT, even, from 16x16 to 4096x4096, got '%s'", v);
		return -EINVAL;
	}
	return 0;
}

const struct mc_option *mc_option_find(const struct mc_option *table, const char *name, int *index)
{
	for (int i = 0; table && table[i].name; i++) {
		if (strcmp(table[i].name, name) == 0) {
			if (index)
				*index = i;
			return &table[i];
		}
	}
	return NULL;
}

int mc_option_count(const struct mc_option *table)
{
	int n = 0;
	while (table && table[n].name)
		n++;
	return n;
}
