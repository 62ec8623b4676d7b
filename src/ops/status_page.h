/* GET /: a self-contained HTML status page (no external scripts, styles or fonts) for a person with a
 * browser: the snapshot refreshing, each layer's bitrate and frame rate as a live chart (polling /stats),
 * the sources' states and the last warnings. It holds no figures itself, so it is served without the token;
 * with one set, the page takes it from its address (#token=...) and sends it with every request it makes. */
#ifndef MC_STATUS_PAGE_H
#define MC_STATUS_PAGE_H

extern const char mc_status_page_html[];

#endif
