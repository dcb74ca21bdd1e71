/*
 * TensorProto <-> tensor. protobuf-c does the wire parsing; this file bounds what it produced:
 * the type, the rank, every dim, the element count (overflow-checked) and the data size, which
 * must match the shape exactly. raw_data is read through the bounded reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "engine/graph.h"

#define TENSOR_PB_SIZE_MAX (VEIL_ENGINE_TENSOR_SIZE_MAX + ((size_t)1 << 20))

static VEIL_RESULT typed_count(const Onnx__TensorProto *p, int32_t dtype, size_t *n)
{
    switch (dtype) {
        case VEIL_DT_FLOAT:
            *n = p->n_float_data;
            break;
        case VEIL_DT_DOUBLE:
            *n = p->n_double_data;
            break;
        case VEIL_DT_INT64:
            *n = p->n_int64_data;
            break;
        case VEIL_DT_UINT32:
        case VEIL_DT_UINT64:
            *n = p->n_uint64_data;
            break;
        case VEIL_DT_INT32:
        case VEIL_DT_INT16:
        case VEIL_DT_INT8:
        case VEIL_DT_UINT16:
        case VEIL_DT_UINT8:
        case VEIL_DT_BOOL:
        case VEIL_DT_FLOAT16:
        case VEIL_DT_BFLOAT16:
            *n = p->n_int32_data;
            break;
        default:
            BAIL(VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    }
    return VEIL_RESULT_OK;
}

static void typed_fill(const Onnx__TensorProto *p, struct veil_tensor *t)
{
    for (size_t i = 0; i < t->count; i++) {
        switch (t->dtype) {
            case VEIL_DT_FLOAT:
                ((float *)t->data)[i] = p->float_data[i];
                break;
            case VEIL_DT_DOUBLE:
                ((double *)t->data)[i] = p->double_data[i];
                break;
            case VEIL_DT_INT64:
                ((int64_t *)t->data)[i] = p->int64_data[i];
                break;
            case VEIL_DT_UINT64:
                ((uint64_t *)t->data)[i] = p->uint64_data[i];
                break;
            case VEIL_DT_UINT32:
                ((uint32_t *)t->data)[i] = (uint32_t)p->uint64_data[i];
                break;
            case VEIL_DT_FLOAT16:
            case VEIL_DT_BFLOAT16:
                /* the 16 bits are stored in an int32 */
                ((uint16_t *)t->data)[i] = (uint16_t)(uint32_t)p->int32_data[i];
                break;
            default:
                veil_tensor_set_i64(t, i, p->int32_data[i]);
                break;
        }
    }
}

/* A relative path below the model's directory: no absolute path, no ".." component. */
static VEIL_RESULT check_location(const char *loc)
{
    size_t n;
    ENSURE(loc != NULL, VEIL_ERR_ENGINE_EXTERNAL);
    n = strnlen(loc, VEIL_ENGINE_NAME_SIZE_MAX);
    ENSURE(n > 0 && n < VEIL_ENGINE_NAME_SIZE_MAX && loc[0] != '/', VEIL_ERR_ENGINE_EXTERNAL);
    for (const char *c = loc; c != NULL && *c != '\0';) {
        const char *slash = strchr(c, '/');
        size_t len = slash != NULL ? (size_t)(slash - c) : strlen(c);
        ENSURE(!(len == 2 && c[0] == '.' && c[1] == '.'), VEIL_ERR_ENGINE_EXTERNAL);
        c = slash != NULL ? slash + 1 : NULL;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_u64(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    ENSURE(s != NULL && *s != '\0', VEIL_ERR_ENGINE_EXTERNAL);
    for (; *s != '\0'; s++) {
        ENSURE(*s >= '0' && *s <= '9', VEIL_ERR_ENGINE_EXTERNAL);
        ENSURE(x <= (UINT64_MAX - 9) / 10, VEIL_ERR_ENGINE_EXTERNAL);
        x = x * 10 + (uint64_t)(*s - '0');
    }
    *v = x;
    return VEIL_RESULT_OK;
}

/* Opens loc beneath dirfd: no symlinks, no escaping the directory (openat2), or, where the kernel
 * lacks openat2, only a plain file name directly in the directory. */
static int open_beneath(int dirfd, const char *loc)
{
    struct open_how how;
    long fd;

    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    fd = syscall(SYS_openat2, dirfd, loc, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS && strchr(loc, '/') == NULL) {
        return openat(dirfd, loc, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    return (int)fd;
}

/* Reads t's data from the external file named by p (location, offset, length). */
static VEIL_RESULT read_external(const Onnx__TensorProto *p, int dirfd, struct veil_tensor *t)
{
    const char *loc = NULL;
    uint64_t off = 0;
    uint64_t len = t->size;
    struct stat st;
    size_t got = 0;
    veil_result r;
    int fd;

    ENSURE(dirfd >= 0, VEIL_ERR_ENGINE_EXTERNAL);
    ENSURE(p->n_external_data <= 16, VEIL_ERR_ENGINE_EXTERNAL);
    for (size_t i = 0; i < p->n_external_data; i++) {
        const Onnx__StringStringEntryProto *kv = p->external_data[i];
        ENSURE(kv->key != NULL, VEIL_ERR_ENGINE_EXTERNAL);
        if (strcmp(kv->key, "location") == 0) {
            loc = kv->value;
        } else if (strcmp(kv->key, "offset") == 0) {
            GUARD(parse_u64(kv->value, &off));
        } else if (strcmp(kv->key, "length") == 0) {
            GUARD(parse_u64(kv->value, &len));
        }
    }
    GUARD(check_location(loc));
    ENSURE(len == t->size, VEIL_ERR_ENGINE_TENSOR);
    fd = open_beneath(dirfd, loc);
    ENSURE(fd >= 0, VEIL_ERR_IO_OPEN);
    r = veil_result_of(VEIL_ERR_ENGINE_TENSOR);
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
        off <= (uint64_t)st.st_size && t->size <= (uint64_t)st.st_size - off &&
        lseek(fd, (off_t)off, SEEK_SET) == (off_t)off) {
        r = veil_tensor_alloc(t);
        if (veil_ok(r) && t->size > 0) {
            r = veil_read_full(fd, t->data, t->size, &got);
            if (veil_ok(r) && got != t->size) {
                r = veil_result_of(VEIL_ERR_ENGINE_TENSOR);
            }
        }
        if (!veil_ok(r)) {
            veil_tensor_free(t);
        }
    }
    (void)close(fd);
    return r;
}

void veil_tensor_proto_drop_data(Onnx__TensorProto *p, ProtobufCAllocator *a)
{
    /* the allocator wipes what it frees */
    if (p->raw_data.data != NULL) {
        a->free(a->allocator_data, p->raw_data.data);
    }
    p->raw_data.data = NULL;
    p->raw_data.len = 0;
    p->has_raw_data = 0;
#define DROP(field, count)                        \
    do {                                          \
        if (p->field != NULL) {                   \
            a->free(a->allocator_data, p->field); \
        }                                         \
        p->field = NULL;                          \
        p->count = 0;                             \
    } while (0)
    DROP(float_data, n_float_data);
    DROP(int32_data, n_int32_data);
    DROP(int64_data, n_int64_data);
    DROP(double_data, n_double_data);
    DROP(uint64_data, n_uint64_data);
#undef DROP
}

VEIL_RESULT veil_tensor_from_proto(const Onnx__TensorProto *p, struct veil_tensor *t)
{
    return veil_tensor_from_proto_ext(p, -1, t);
}

/* The raw bytes of t (shape set) from pl: borrowed where m->inplace lets them be aligned in
 * place, else copied once into an owned allocation. */
static VEIL_RESULT payload_data(struct veil_engine_model *m, const struct veil_pb_payload *pl,
                                struct veil_tensor *t)
{
    const uint8_t *from;

    ENSURE(pl->len == t->size, VEIL_ERR_ENGINE_TENSOR);
    if (m->inplace != NULL) {
        /* placed before the graph was built (veil_pb_place_all, model.c) */
        from = m->inplace + pl->off;
        if ((uintptr_t)from % veil_dtype_size(t->dtype) == 0) {
            if (m->kept_count == m->kept_cap) {
                size_t cap = m->kept_cap > 0 ? 2 * m->kept_cap : 64;
                struct veil_span *k = realloc(m->kept, cap * sizeof(*k));
                ENSURE(k != NULL, VEIL_ERR_NOMEM);
                m->kept = k;
                m->kept_cap = cap;
            }
            m->kept[m->kept_count].off = pl->off;
            m->kept[m->kept_count].len = pl->len;
            m->kept_count++;
            t->data = m->inplace + pl->off;
            t->borrowed = true;
            m->borrowed++;
            return VEIL_RESULT_OK;
        }
    } else {
        from = m->src + pl->off;
    }
    GUARD(veil_tensor_alloc(t));
    memcpy(t->data, from, t->size);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT from_proto(const Onnx__TensorProto *p, int dirfd, struct veil_engine_model *m,
                              const struct veil_pb_payload *pl, struct veil_tensor *t)
{
    struct veil_tensor out = {0};
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    int32_t dtype = p->has_data_type ? p->data_type : VEIL_DT_UNDEFINED;
    bool external =
        p->has_data_location && p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    bool raw = p->has_raw_data || pl != NULL;

    ENSURE(!p->has_data_location || external ||
               p->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT,
           VEIL_ERR_ENGINE_TENSOR);
    ENSURE(external || p->n_external_data == 0, VEIL_ERR_ENGINE_TENSOR);
    ENSURE(!external || dirfd >= 0, VEIL_ERR_ENGINE_EXTERNAL);
    ENSURE(p->segment == NULL, VEIL_ERR_ENGINE_TENSOR);
    ENSURE(dtype != VEIL_DT_UNDEFINED, VEIL_ERR_ENGINE_TENSOR);
    ENSURE(veil_dtype_size(dtype) != 0, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(p->n_dims <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
    for (size_t i = 0; i < p->n_dims; i++) {
        ENSURE(p->dims[i] >= 0, VEIL_ERR_ENGINE_TENSOR);
        dims[i] = p->dims[i];
    }
    GUARD(veil_tensor_shape(&out, dtype, (uint32_t)p->n_dims, dims));
    if (external) {
        ENSURE(!raw, VEIL_ERR_ENGINE_TENSOR);
        GUARD(read_external(p, dirfd, &out));
    } else if (pl != NULL) {
        GUARD(payload_data(m, pl, &out));
    } else if (raw) {
        struct veil_rd rd;
        veil_rd_init(&rd, p->raw_data.data, p->raw_data.len);
        ENSURE(p->raw_data.len == out.size, VEIL_ERR_ENGINE_TENSOR);
        GUARD(veil_tensor_alloc(&out));
        veil_result r = out.size > 0 ? veil_rd_bytes(&rd, out.data, out.size) : VEIL_RESULT_OK;
        if (veil_ok(r) && out.size > 0) {
            r = veil_rd_done(&rd);
        }
        if (!veil_ok(r)) {
            veil_tensor_free(&out);
            BAIL(VEIL_ERR_ENGINE_TENSOR);
        }
    } else {
        size_t n = 0;
        GUARD(typed_count(p, dtype, &n));
        ENSURE(n == out.count, VEIL_ERR_ENGINE_TENSOR);
        GUARD(veil_tensor_alloc(&out));
        typed_fill(p, &out);
    }
    if (raw && dtype == VEIL_DT_BOOL) {
        uint8_t *b = out.data;
        for (size_t i = 0; i < out.count; i++) {
            b[i] = b[i] != 0;
        }
    }
    *t = out;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_tensor_from_proto_ext(const Onnx__TensorProto *p, int dirfd, struct veil_tensor *t)
{
    return from_proto(p, dirfd, NULL, NULL, t);
}

VEIL_RESULT veil_tensor_from_payload(const Onnx__TensorProto *p, struct veil_engine_model *m,
                                     const struct veil_pb_payload *pl, struct veil_tensor *t)
{
    return from_proto(p, m->ext_dirfd, m, pl, t);
}

/* ---- nesting check before protobuf-c (whose unpacking recurses once per nested message) ---- */

static VEIL_RESULT rd_varint(struct veil_rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b;
        GUARD(veil_rd_u8(r, &b));
        x |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *v = x;
            return VEIL_RESULT_OK;
        }
    }
    BAIL(VEIL_ERR_ENGINE_MODEL);
}

/* Walks the wire format of one message of type d: every sub-message field is descended into,
 * at most depth_left levels; anything malformed is VEIL_ERR_ENGINE_MODEL. */
static VEIL_RESULT check_nesting(struct veil_rd *r, const ProtobufCMessageDescriptor *d,
                                 uint32_t depth_left)
{
    ENSURE(depth_left > 0, VEIL_ERR_ENGINE_LIMIT);
    while (veil_rd_left(r) > 0) {
        uint64_t key;
        uint64_t len;
        struct veil_rd sub;
        const ProtobufCFieldDescriptor *f;

        if (!veil_ok(rd_varint(r, &key))) {
            BAIL(VEIL_ERR_ENGINE_MODEL);
        }
        switch (key & 7) {
            case 0: /* varint */
                ENSURE(veil_ok(rd_varint(r, &len)), VEIL_ERR_ENGINE_MODEL);
                break;
            case 1: /* 64-bit */
                ENSURE(veil_ok(veil_rd_skip(r, 8)), VEIL_ERR_ENGINE_MODEL);
                break;
            case 5: /* 32-bit */
                ENSURE(veil_ok(veil_rd_skip(r, 4)), VEIL_ERR_ENGINE_MODEL);
                break;
            case 2: /* length-delimited: a sub-message when the schema says so */
                ENSURE(veil_ok(rd_varint(r, &len)), VEIL_ERR_ENGINE_MODEL);
                ENSURE(len <= veil_rd_left(r), VEIL_ERR_ENGINE_MODEL);
                ENSURE(veil_ok(veil_rd_sub(r, (size_t)len, &sub)), VEIL_ERR_ENGINE_MODEL);
                f = key >> 3 <= UINT32_MAX
                        ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3))
                        : NULL;
                if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                    GUARD(check_nesting(&sub, f->descriptor, depth_left - 1));
                }
                break;
            default: /* groups (3, 4) are not used by onnx.proto; 6, 7 do not exist */
                BAIL(VEIL_ERR_ENGINE_MODEL);
        }
    }
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_pb_check_nesting(const void *data, size_t size,
                                  const ProtobufCMessageDescriptor *d)
{
    struct veil_rd r;
    if (size == 0) {
        return VEIL_RESULT_OK;
    }
    veil_rd_init(&r, data, size);
    return check_nesting(&r, d, VEIL_ENGINE_PB_DEPTH_MAX);
}

struct cap_alloc {
    ProtobufCAllocator a;
    size_t used;
    size_t max;
};

static void *cap_alloc_fn(void *ctx, size_t n)
{
    struct cap_alloc *c = ctx;
    if (n > c->max - c->used) {
        return NULL;
    }
    c->used += n;
    return malloc(n);
}

static void cap_free_fn(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

VEIL_RESULT veil_tensor_decode(const void *data, size_t size, struct veil_tensor *t, char **name)
{
    struct cap_alloc ca = {{cap_alloc_fn, cap_free_fn, NULL}, 0, 0};
    Onnx__TensorProto *p;
    veil_result r;

    ENSURE(size <= TENSOR_PB_SIZE_MAX, VEIL_ERR_ENGINE_LIMIT);
    ca.a.allocator_data = &ca;
    ca.max = 8 * size + ((size_t)1 << 20);
    r = veil_pb_check_nesting(data, size, &onnx__tensor_proto__descriptor);
    ENSURE(veil_ok(r), r.code == VEIL_ERR_ENGINE_LIMIT ? r.code : VEIL_ERR_ENGINE_TENSOR);
    p = onnx__tensor_proto__unpack(&ca.a, size, data);
    ENSURE(p != NULL, VEIL_ERR_ENGINE_TENSOR);
    r = veil_tensor_from_proto(p, t);
    if (veil_ok(r) && name != NULL) {
        *name = NULL;
        if (p->name != NULL) {
            *name = strdup(p->name);
            if (*name == NULL) {
                veil_tensor_free(t);
                r = veil_result_of(VEIL_ERR_NOMEM);
            }
        }
    }
    onnx__tensor_proto__free_unpacked(p, &ca.a);
    return r;
}

VEIL_RESULT veil_tensor_encode(const struct veil_tensor *t, const char *name, uint8_t **out,
                               size_t *out_size)
{
    Onnx__TensorProto p = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    uint8_t *buf;
    size_t n;

    for (uint32_t i = 0; i < t->rank; i++) {
        dims[i] = t->dims[i];
    }
    p.n_dims = t->rank;
    p.dims = dims;
    p.has_data_type = 1;
    p.data_type = t->dtype;
    p.has_raw_data = 1;
    p.raw_data.len = t->size;
    p.raw_data.data = t->data;
    p.name = (char *)(uintptr_t)name;
    n = onnx__tensor_proto__get_packed_size(&p);
    buf = malloc(n > 0 ? n : 1);
    ENSURE(buf != NULL, VEIL_ERR_NOMEM);
    VEIL_ASSERT(onnx__tensor_proto__pack(&p, buf) == n);
    *out = buf;
    *out_size = n;
    return VEIL_RESULT_OK;
}
