/* Option tables: a key name, a value parser and where the value goes (an offset into a struct). The
 * configuration's own keys use them, and so does each source backend for the keys only it takes (its
 * table in its mc_source_ops, as mpv's drivers carry theirs), so that a new backend is one file under hw/
 * and one registry line, not an edit of the central key table. */
#ifndef MC_OPTION_H
#define MC_OPTION_H

#include <stdbool.h>
#include <stddef.h>

struct mc_option;
/* Parse `value` into `field`; on error write what was expected into `err` and return -EINVAL. */
typedef int (*mc_option_parser)(const struct mc_option *o, const char *value, void *field, char *err, size_t errlen);

struct mc_option_choice {
	const char *name;
	int value;
};

struct mc_option {
	const char *name;
	mc_option_parser parse;
	size_t offset;
	long min, max;                         /* integers: the range; strings: max is the field's size */
	const struct mc_option_choice *choices; /* mc_opt_choice: { NULL, 0 }-terminated */
	bool required;
};

/* The value parsers (the field types): char[max], a name of [A-Za-z0-9_-], int in [min, max], bool, one of
 * `choices` (stored as an int), WxH (two ints, even, 16..4096). */
int mc_opt_string(const struct mc_option *o, const char *v, void *field, char *err, size_t n);
int mc_opt_name(const struct mc_option *o, const char *v, void *field, char *err, size_t n);
int mc_opt_int(const struct mc_option *o, const char *v, void *field, char *err, size_t n);
int mc_opt_bool(const struct mc_option *o, const char *v, void *field, char *err, size_t n);
int mc_opt_choice(const struct mc_option *o, const char *v, void *field, char *err, size_t n);
int mc_opt_size(const struct mc_option *o, const char *v, void *field, char *err, size_t n);

/* The entry named `name` in a table ending with a NULL name, or NULL; *index its position. */
const struct mc_option *mc_option_find(const struct mc_option *table, const char *name, int *index);
int mc_option_count(const struct mc_option *table);

#define MC_OPT_FIELD_SIZE(type, f) ((long)sizeof(((type *)0)->f))

#endif
