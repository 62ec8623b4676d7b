/* ThreadSanitizer's defaults for every program of a MIXCAST_TSAN build (mixcastd, the unit tests), so
 * that `ctest` needs no TSAN_OPTIONS; the environment variable still overrides them.
 *
 * ignore_noninstrumented_modules=1: FFmpeg, x264, libvpx, libsrtp2 and glibc are not instrumented. TSan
 * sees none of their own memory accesses and none of their C11 atomics, e.g. the reference count with
 * which libavutil hands a frame or packet from one thread to another, but it did see the memcpy() and
 * free() they call through its interceptors, without the synchronisation that orders them: on main that
 * gave reports such as "free in av_buffer_unref (encoder thread) vs. the RTP packetizer's read of the
 * packet (network thread)" for a packet whose last reference the encoder thread dropped. With this flag
 * what those libraries do is ignored consistently; every access of mixcast's own code is still checked.
 * (The macOS default; the option is documented in compiler-rt's tsan_flags.inc.) */
const char *__tsan_default_options(void);

const char *__tsan_default_options(void) { return "ignore_noninstrumented_modules=1:halt_on_error=1:second_deadlock_stack=1"; }
