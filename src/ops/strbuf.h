/* A growing string for building JSON and text replies. On allocation failure it stays truncated and
 * `failed` is set; callers check once at the end. */
#ifndef MC_STRBUF_H
#define MC_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct mc_strbuf {
	char *data;
	size_t len, cap;
	bool failed;
};

void mc_strbuf_printf(struct mc_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `s` as a JSON string literal (quotes and escapes). */
void mc_strbuf_json_string(struct mc_strbuf *b, const char *s);
void mc_strbuf_free(struct mc_strbuf *b);

#endif
