#include <isa-l/igzip_lib.h>
#include <isa-l/crc.h>

/* The level buffer sizes are macros over struct sizes, which Swift cannot import. */
static inline uint32_t dataport_isal_level_buf_size(int level) {
    switch (level) {
    case 0: return ISAL_DEF_LVL0_DEFAULT;
    case 1: return ISAL_DEF_LVL1_DEFAULT;
    case 2: return ISAL_DEF_LVL2_DEFAULT;
    default: return ISAL_DEF_LVL3_DEFAULT;
    }
}

/* Whether the stream has written its end (after end_of_stream). */
static inline int dataport_isal_ended(const struct isal_zstream *s) { return s->internal_state.state == ZSTATE_END; }
