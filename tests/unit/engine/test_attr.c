/* Node attributes resolved at load into the model's store (attr.c): the ModelProto is freed once
 * the graphs are built, and every attribute type reads back with the same type checks. */
#include <string.h>

#include "engine/graph.h"
#include "veil_test.h"

/* ---- a tiny protobuf-c builder: every struct from one arena of fixed slots ---- */

#define SLOTS 64

struct kit {
    Onnx__ModelProto model;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opsets[1];
    Onnx__GraphProto graphs[4];
    Onnx__NodeProto nodes[SLOTS];
    Onnx__NodeProto *node_ptrs[SLOTS];
    Onnx__AttributeProto attrs[SLOTS];
    Onnx__AttributeProto *attr_ptrs[SLOTS];
    Onnx__ValueInfoProto vis[SLOTS];
    Onnx__ValueInfoProto *vi_ptrs[SLOTS];
    Onnx__TensorProto tensors[8];
    Onnx__TensorProto *tensor_ptrs[8];
    size_t nn, na, nv, nt;
};

static void kit_init(struct kit *k)
{
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__OperatorSetIdProto o = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    memset(k, 0, sizeof(*k));
    k->model = m;
    k->opset = o;
    k->opset.has_version = 1;
    k->opset.version = 13;
    k->opset.domain = (char *)"";
    k->opsets[0] = &k->opset;
    k->model.n_opset_import = 1;
    k->model.opset_import = k->opsets;
    k->model.has_ir_version = 1;
    k->model.ir_version = 7;
    for (size_t i = 0; i < 4; i++) {
        Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
        k->graphs[i] = g;
    }
    k->model.graph = &k->graphs[0];
}

/* A node of g (nodes of one graph are made one after the other). */
static Onnx__NodeProto *kit_node(struct kit *k, Onnx__GraphProto *g, const char *op, char **in,
                                 size_t n_in, char **out, size_t n_out)
{
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
    assert_true(k->nn < SLOTS);
    k->nodes[k->nn] = n;
    k->nodes[k->nn].op_type = (char *)op;
    k->nodes[k->nn].input = in;
    k->nodes[k->nn].n_input = n_in;
    k->nodes[k->nn].output = out;
    k->nodes[k->nn].n_output = n_out;
    k->node_ptrs[k->nn] = &k->nodes[k->nn];
    if (g->n_node == 0) {
        g->node = &k->node_ptrs[k->nn];
    }
    g->n_node++;
    return &k->nodes[k->nn++];
}

/* An attribute of n (attributes of one node are made one after the other). */
static Onnx__AttributeProto *kit_attr(struct kit *k, Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
    assert_true(k->na < SLOTS);
    k->attrs[k->na] = a;
    k->attrs[k->na].name = (char *)name;
    k->attrs[k->na].has_type = 1;
    k->attrs[k->na].type = type;
    k->attr_ptrs[k->na] = &k->attrs[k->na];
    if (n->n_attribute == 0) {
        n->attribute = &k->attr_ptrs[k->na];
    }
    n->n_attribute++;
    return &k->attrs[k->na++];
}

/* Graph inputs (is_out false) or outputs of g, by name, untyped (made one list at a time). */
static void kit_io(struct kit *k, Onnx__GraphProto *g, bool is_out, const char *const *names,
                   size_t n)
{
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    assert_true(k->nv + n <= SLOTS);
    if (is_out) {
        g->output = &k->vi_ptrs[k->nv];
        g->n_output = n;
    } else {
        g->input = &k->vi_ptrs[k->nv];
        g->n_input = n;
    }
    for (size_t i = 0; i < n; i++) {
        k->vis[k->nv] = vi;
        k->vis[k->nv].name = (char *)names[i];
        k->vi_ptrs[k->nv] = &k->vis[k->nv];
        k->nv++;
    }
}

static Onnx__TensorProto *kit_tensor(struct kit *k, const char *name, int32_t dtype, size_t n_dims,
                                     int64_t *dims)
{
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    assert_true(k->nt < 8);
    k->tensors[k->nt] = t;
    k->tensors[k->nt].name = (char *)name;
    k->tensors[k->nt].has_data_type = 1;
    k->tensors[k->nt].data_type = dtype;
    k->tensors[k->nt].n_dims = n_dims;
    k->tensors[k->nt].dims = dims;
    k->tensor_ptrs[k->nt] = &k->tensors[k->nt];
    return &k->tensors[k->nt++];
}

static veil_result kit_load(const struct kit *k, struct veil_engine_model **m)
{
    size_t n = onnx__model_proto__get_packed_size(&k->model);
    uint8_t *p = malloc(n + 1);
    struct veil_engine_diag diag;
    veil_result r;
    assert_non_null(p);
    assert_int_equal(onnx__model_proto__pack(&k->model, p), n);
    r = veil_engine_load(p, n, &diag, m);
    free(p); /* the copying load keeps nothing of the bytes either */
    return r;
}

static void run1(struct veil_engine_model *m, const float *x, size_t n, struct veil_tensor *y)
{
    struct veil_tensor in = {0};
    int64_t dim = (int64_t)n;
    EXPECT_OK(veil_tensor_shape(&in, VEIL_DT_FLOAT, 1, &dim));
    EXPECT_OK(veil_tensor_alloc(&in));
    memcpy(in.data, x, n * sizeof(*x));
    EXPECT_OK(veil_engine_run(m, &in, y, NULL));
    veil_tensor_free(&in);
}

/* ---- every attribute type, read back after the proto is gone ---- */

static char *g_x[] = {(char *)"X"};
static char *g_y[] = {(char *)"Y"};

static void test_attr_types(void **state)
{
    struct kit k;
    struct veil_engine_model *m = NULL;
    int64_t ints[3] = {7, -8, 9};
    float floats[2] = {0.5f, -1.5f};
    uint8_t sbytes[3] = {'a', 'b', 'c'};
    ProtobufCBinaryData strs[2] = {{2, (uint8_t *)"hi"}, {0, NULL}};
    int64_t tdim = 2;
    float tval[2] = {3.0f, 4.0f};
    Onnx__GraphProto *sub = &k.graphs[1];
    static const char *const sub_out[] = {"X"};
    (void)state;

    kit_init(&k);
    kit_io(&k, &k.graphs[0], false, (const char *const[]){"X"}, 1);
    kit_io(&k, &k.graphs[0], true, (const char *const[]){"Y"}, 1);
    /* Identity ignores its attributes: any of them loads, and they are all kept */
    Onnx__NodeProto *n = kit_node(&k, &k.graphs[0], "Identity", g_x, 1, g_y, 1);
    n->name = (char *)"the_node";
    Onnx__AttributeProto *a = kit_attr(&k, n, "i", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = -42;
    a = kit_attr(&k, n, "f", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = 2.25f;
    a = kit_attr(&k, n, "ints", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = 3;
    a->ints = ints;
    a = kit_attr(&k, n, "floats", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = 2;
    a->floats = floats;
    a = kit_attr(&k, n, "s", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = sizeof(sbytes);
    a->s.data = sbytes;
    a = kit_attr(&k, n, "strings", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = 2;
    a->strings = strs;
    a = kit_attr(&k, n, "t", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = kit_tensor(&k, "", VEIL_DT_FLOAT, 1, &tdim);
    a->t->n_float_data = 2;
    a->t->float_data = tval;
    a = kit_attr(&k, n, "g", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    a->g = sub; /* a graph whose output is the enclosing X */
    kit_io(&k, sub, true, sub_out, 1);
    a = kit_attr(&k, n, "untyped", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED);
    a->has_type = 0;
    a->has_i = 1;
    a->i = 5;

    EXPECT_OK(kit_load(&k, &m));
    EXPECT_NULL(m->proto); /* freed once built */
    const struct veil_engine_node *nd = &m->main->nodes[0];
    struct veil_op_ctx c = {.node = nd};
    int64_t iv;
    float fv;
    const int64_t *ip;
    const float *fp;
    size_t cnt;
    char buf[8];

    EXPECT_EQ(nd->attr_count, 9);
    EXPECT_STR_EQ(nd->name, "the_node");
    EXPECT_OK(veil_attr_int(&c, "i", 0, &iv));
    EXPECT_EQ(iv, -42);
    EXPECT_OK(veil_attr_int(&c, "untyped", 0, &iv)); /* no declared type: what is set counts */
    EXPECT_EQ(iv, 5);
    EXPECT_OK(veil_attr_float(&c, "f", 0, &fv));
    EXPECT_TRUE(fv == 2.25f);
    EXPECT_OK(veil_attr_ints(&c, "ints", &ip, &cnt));
    EXPECT_EQ(cnt, 3);
    EXPECT_BYTES_EQ(ip, ints, sizeof(ints));
    EXPECT_OK(veil_attr_floats(&c, "floats", &fp, &cnt));
    EXPECT_EQ(cnt, 2);
    EXPECT_BYTES_EQ(fp, floats, sizeof(floats));
    EXPECT_OK(veil_attr_string(&c, "s", "", buf, sizeof(buf)));
    EXPECT_STR_EQ(buf, "abc");
    EXPECT_ERR(veil_attr_string(&c, "s", "", buf, 3), VEIL_ERR_ENGINE_ATTR); /* no room */
    const struct veil_attr *sa = veil_attr_find(&c, "strings");
    struct veil_attr_fields sf;
    assert_non_null(sa);
    veil_attr_fields(sa, &sf);
    EXPECT_EQ(sf.n_strings, 2);
    EXPECT_EQ(sf.strings[0].len, 2);
    EXPECT_BYTES_EQ(sf.strings[0].data, "hi", 2);
    EXPECT_EQ(sf.strings[1].len, 0);
    const struct veil_attr *ta = veil_attr_find(&c, "t");
    assert_non_null(ta);
    const struct veil_tensor *tt = veil_attr_tensor(ta);
    assert_non_null(tt);
    EXPECT_EQ(tt->dtype, VEIL_DT_FLOAT);
    EXPECT_EQ(tt->count, 2);
    EXPECT_BYTES_EQ(tt->data, tval, sizeof(tval));
    const struct veil_engine_graph *sg = veil_attr_graph(&c, "g");
    assert_non_null(sg);
    EXPECT_EQ(sg->output_count, 1);
    EXPECT_EQ(sg->values[sg->outputs[0]].kind, VEIL_VALUE_OUTER);
    /* the enclosing X (value names are kept only for the main graph's inputs and outputs) */
    EXPECT_STR_EQ(m->main->values[sg->values[sg->outputs[0]].outer].name, "X");
    EXPECT_NULL(sg->values[sg->outputs[0]].name);
    EXPECT_NULL(veil_attr_graph(&c, "i"));

    /* absent: the default, or nothing */
    EXPECT_NULL(veil_attr_find(&c, "nope"));
    EXPECT_NULL(veil_attr_find(&c, "in")); /* a prefix of a name is not the name */
    EXPECT_OK(veil_attr_int(&c, "nope", 11, &iv));
    EXPECT_EQ(iv, 11);
    EXPECT_OK(veil_attr_float(&c, "nope", 1.5f, &fv));
    EXPECT_TRUE(fv == 1.5f);
    EXPECT_OK(veil_attr_ints(&c, "nope", &ip, &cnt));
    EXPECT_TRUE(ip == NULL && cnt == 0);
    EXPECT_OK(veil_attr_floats(&c, "nope", &fp, &cnt));
    EXPECT_TRUE(fp == NULL && cnt == 0);
    EXPECT_OK(veil_attr_string(&c, "nope", "dflt", buf, sizeof(buf)));
    EXPECT_STR_EQ(buf, "dflt");

    /* present, of the wrong type */
    EXPECT_ERR(veil_attr_int(&c, "f", 0, &iv), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_int(&c, "ints", 0, &iv), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_float(&c, "i", 0, &fv), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_ints(&c, "i", &ip, &cnt), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_floats(&c, "ints", &fp, &cnt), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_string(&c, "strings", "", buf, sizeof(buf)), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_string(&c, "t", "", buf, sizeof(buf)), VEIL_ERR_ENGINE_ATTR);

    /* and the model runs (Identity: its subgraph is not run) */
    float x[2] = {1, 2};
    struct veil_tensor y = {0};
    run1(m, x, 2, &y);
    EXPECT_EQ(y.count, 2);
    EXPECT_BYTES_EQ(y.data, x, sizeof(x));
    veil_tensor_free(&y);
    veil_engine_free(m);
}

/* A string attribute with a NUL inside is refused where it is read, as before. */
static void test_attr_string_nul(void **state)
{
    struct kit k;
    struct veil_engine_model *m = NULL;
    uint8_t bad[3] = {'a', 0, 'b'};
    char buf[8];
    (void)state;

    kit_init(&k);
    kit_io(&k, &k.graphs[0], false, (const char *const[]){"X"}, 1);
    kit_io(&k, &k.graphs[0], true, (const char *const[]){"Y"}, 1);
    Onnx__NodeProto *n = kit_node(&k, &k.graphs[0], "Identity", g_x, 1, g_y, 1);
    Onnx__AttributeProto *a = kit_attr(&k, n, "s", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = sizeof(bad);
    a->s.data = bad;
    EXPECT_OK(kit_load(&k, &m));
    struct veil_op_ctx c = {.node = &m->main->nodes[0]};
    EXPECT_ERR(veil_attr_string(&c, "s", "", buf, sizeof(buf)), VEIL_ERR_ENGINE_ATTR);
    veil_engine_free(m);
}

/* Y = Loop(3, "", X) with body v + Constant(value_float 1), then
 * Z = If(C) then: Y * Constant(value_floats [2, 3]) else: Y + Constant(value: tensor [10, 20]);
 * the subgraphs' attributes are read at every run, after the ModelProto was freed. */
static void test_subgraphs_after_free(void **state)
{
    struct kit k;
    struct veil_engine_model *m = NULL;
    Onnx__GraphProto *g = &k.graphs[0];
    Onnx__GraphProto *body = &k.graphs[1];
    Onnx__GraphProto *then_g = &k.graphs[2];
    Onnx__GraphProto *else_g = &k.graphs[3];
    static char *loop_in[] = {(char *)"M", (char *)"", (char *)"X"};
    static char *loop_out[] = {(char *)"Y"};
    static char *if_in[] = {(char *)"C"};
    static char *if_out[] = {(char *)"Z"};
    static char *b_cond[] = {(char *)"cond_in"};
    static char *b_cond_out[] = {(char *)"cond_out"};
    static char *b_one[] = {(char *)"one"};
    static char *b_add_in[] = {(char *)"v_in", (char *)"one"};
    static char *b_add_out[] = {(char *)"v_out"};
    static char *t_k[] = {(char *)"tk"};
    static char *t_mul_in[] = {(char *)"Y", (char *)"tk"};
    static char *t_out[] = {(char *)"then_z"};
    static char *e_k[] = {(char *)"ek"};
    static char *e_add_in[] = {(char *)"Y", (char *)"ek"};
    static char *e_out[] = {(char *)"else_z"};
    int64_t mval = 3;
    int64_t two = 2;
    float fk[2] = {2.0f, 3.0f};
    float ek[2] = {10.0f, 20.0f};
    (void)state;

    kit_init(&k);
    kit_io(&k, g, false, (const char *const[]){"X", "C"}, 2);
    kit_io(&k, g, true, (const char *const[]){"Z"}, 1);
    Onnx__TensorProto *mt = kit_tensor(&k, "M", VEIL_DT_INT64, 0, NULL);
    mt->n_int64_data = 1;
    mt->int64_data = &mval;
    g->n_initializer = 1;
    g->initializer = &k.tensor_ptrs[0];

    Onnx__NodeProto *loop = kit_node(&k, g, "Loop", loop_in, 3, loop_out, 1);
    Onnx__NodeProto *nif = kit_node(&k, g, "If", if_in, 1, if_out, 1);
    Onnx__AttributeProto *a =
        kit_attr(&k, loop, "body", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    a->g = body;
    a = kit_attr(&k, nif, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    a->g = then_g;
    a = kit_attr(&k, nif, "else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    a->g = else_g;

    kit_io(&k, body, false, (const char *const[]){"iter", "cond_in", "v_in"}, 3);
    kit_io(&k, body, true, (const char *const[]){"cond_out", "v_out"}, 2);
    kit_node(&k, body, "Identity", b_cond, 1, b_cond_out, 1);
    Onnx__NodeProto *c1 = kit_node(&k, body, "Constant", NULL, 0, b_one, 1);
    kit_node(&k, body, "Add", b_add_in, 2, b_add_out, 1);
    a = kit_attr(&k, c1, "value_float", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = 1.0f;

    kit_io(&k, then_g, true, (const char *const[]){"then_z"}, 1);
    Onnx__NodeProto *c2 = kit_node(&k, then_g, "Constant", NULL, 0, t_k, 1);
    kit_node(&k, then_g, "Mul", t_mul_in, 2, t_out, 1);
    a = kit_attr(&k, c2, "value_floats", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = 2;
    a->floats = fk;

    kit_io(&k, else_g, true, (const char *const[]){"else_z"}, 1);
    Onnx__NodeProto *c3 = kit_node(&k, else_g, "Constant", NULL, 0, e_k, 1);
    kit_node(&k, else_g, "Add", e_add_in, 2, e_out, 1);
    a = kit_attr(&k, c3, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = kit_tensor(&k, "", VEIL_DT_FLOAT, 1, &two);
    a->t->n_float_data = 2;
    a->t->float_data = ek;

    EXPECT_OK(kit_load(&k, &m));
    EXPECT_NULL(m->proto);
    for (int cond = 0; cond < 2; cond++) {
        for (int rep = 0; rep < 2; rep++) { /* a second run reads them again */
            struct veil_tensor in[2] = {{0}};
            struct veil_tensor z = {0};
            int64_t dim = 2;
            EXPECT_OK(veil_tensor_shape(&in[0], VEIL_DT_FLOAT, 1, &dim));
            EXPECT_OK(veil_tensor_alloc(&in[0]));
            ((float *)in[0].data)[0] = 1.0f;
            ((float *)in[0].data)[1] = 2.0f;
            EXPECT_OK(veil_tensor_shape(&in[1], VEIL_DT_BOOL, 0, NULL));
            EXPECT_OK(veil_tensor_alloc(&in[1]));
            ((uint8_t *)in[1].data)[0] = (uint8_t)cond;
            EXPECT_OK(veil_engine_run(m, in, &z, NULL));
            EXPECT_EQ(z.count, 2);
            /* Y = X + 3 = {4, 5} */
            if (cond) {
                EXPECT_TRUE(((float *)z.data)[0] == 8.0f && ((float *)z.data)[1] == 15.0f);
            } else {
                EXPECT_TRUE(((float *)z.data)[0] == 14.0f && ((float *)z.data)[1] == 25.0f);
            }
            veil_tensor_free(&z);
            veil_tensor_free(&in[0]);
            veil_tensor_free(&in[1]);
        }
    }
    veil_engine_free(m);
}

/* A node's error names the node, from the copy kept after the proto was freed. */
static void test_error_names_node(void **state)
{
    struct kit k;
    struct veil_engine_model *m = NULL;
    struct veil_engine_diag diag;
    float x[2] = {1, 2};
    struct veil_tensor in = {0};
    struct veil_tensor y = {0};
    int64_t dim = 2;
    (void)state;

    static char *c_out[] = {(char *)"unused"};
    int64_t one = 1;
    float cv = 1.0f;

    kit_init(&k);
    kit_io(&k, &k.graphs[0], false, (const char *const[]){"X"}, 1);
    kit_io(&k, &k.graphs[0], true, (const char *const[]){"Y"}, 1);
    /* node 0, a Constant: not in the node array once loaded; the error still counts it */
    Onnx__NodeProto *cn = kit_node(&k, &k.graphs[0], "Constant", NULL, 0, c_out, 1);
    Onnx__NodeProto *n = kit_node(&k, &k.graphs[0], "LeakyRelu", g_x, 1, g_y, 1);
    n->name = (char *)"leaky_7";
    Onnx__AttributeProto *a = kit_attr(&k, n, "alpha", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1; /* alpha is a float: refused when the node runs */
    a->i = 1;
    a = kit_attr(&k, cn, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = kit_tensor(&k, "", VEIL_DT_FLOAT, 1, &one);
    a->t->n_float_data = 1;
    a->t->float_data = &cv;
    EXPECT_OK(kit_load(&k, &m));
    EXPECT_EQ(m->main->node_count, 1);
    EXPECT_OK(veil_tensor_shape(&in, VEIL_DT_FLOAT, 1, &dim));
    EXPECT_OK(veil_tensor_alloc(&in));
    memcpy(in.data, x, sizeof(x));
    EXPECT_ERR(veil_engine_run(m, &in, &y, &diag), VEIL_ERR_ENGINE_ATTR);
    EXPECT_NOT_NULL(strstr(diag.what, "node 1 (LeakyRelu 'leaky_7')"));
    veil_tensor_free(&in);
    veil_engine_free(m);
}

/* The store: zeroed, aligned blocks across chunks, big ones alone; freed at once. */
static void test_store(void **state)
{
    struct veil_store s = {0};
    bool ok = true;
    (void)state;

    for (size_t i = 0; i < 2000; i++) {
        uint8_t *p = veil_store_alloc(&s, i % 97 + 1);
        assert_non_null(p);
        EXPECT_EQ((uintptr_t)p % 16, 0);
        for (size_t k = 0; k < i % 97 + 1; k++) {
            EXPECT_EQ(p[k], 0);
        }
        memset(p, 0xa5, i % 97 + 1);
    }
    uint8_t *big = veil_store_alloc(&s, (size_t)1 << 20);
    assert_non_null(big);
    big[((size_t)1 << 20) - 1] = 1;
    char *str = veil_store_strdup(&s, "name", &ok);
    EXPECT_TRUE(ok);
    EXPECT_STR_EQ(str, "name");
    EXPECT_NULL(veil_store_strdup(&s, NULL, &ok));
    EXPECT_TRUE(ok);
    EXPECT_NULL(veil_store_alloc(&s, SIZE_MAX - 8)); /* no overflow */
    EXPECT_TRUE(s.used <= s.total);
    veil_store_free(&s);
    EXPECT_NULL(s.head);
}

/* The mapped backing (protobuf-c's blocks while a model is parsed): the same blocks, from chunks
 * of their own mappings; a block larger than a chunk is refused (the parse sends those to
 * malloc); freed, the store is empty and still mapped. */
static void test_store_mapped(void **state)
{
    struct veil_store s = {.mapped = true};
    (void)state;

    for (size_t i = 0; i < 20000; i++) { /* ~1 MB: several chunks */
        uint8_t *p = veil_store_alloc(&s, i % 97 + 1);
        assert_non_null(p);
        EXPECT_EQ((uintptr_t)p % 16, 0);
        for (size_t k = 0; k < i % 97 + 1; k++) {
            EXPECT_EQ(p[k], 0);
        }
        memset(p, 0xa5, i % 97 + 1);
    }
    EXPECT_TRUE(s.total >= ((size_t)512 << 10));
    EXPECT_NULL(veil_store_alloc(&s, (size_t)1 << 20));
    EXPECT_TRUE(s.used <= s.total);
    veil_store_free(&s);
    EXPECT_NULL(s.head);
    EXPECT_EQ(s.total, 0);
    EXPECT_TRUE(s.mapped);
}

/* Attribute names operators use are not copied: the record points at the engine's own string
 * (the list sorted, every entry found); any other name is a copy in the store. */
static void test_known_names(void **state)
{
    struct veil_store s = {0};
    Onnx__AttributeProto ap = ONNX__ATTRIBUTE_PROTO__INIT;
    struct veil_attr a;
    char name[64];
    (void)state;

    EXPECT_TRUE(veil_attr_known_count > 100);
    for (size_t i = 0; i < veil_attr_known_count; i++) {
        if (i > 0) {
            EXPECT_TRUE(strcmp(veil_attr_known[i - 1], veil_attr_known[i]) < 0);
        }
        EXPECT_TRUE(veil_attr_name_known(veil_attr_known[i]) == veil_attr_known[i]);
    }
    (void)snprintf(name, sizeof(name), "%s", "kernel_shape"); /* not the literal: a parsed name */
    ap.name = name;
    EXPECT_OK(veil_attr_resolve(&s, &ap, &a));
    EXPECT_STR_EQ(a.name, "kernel_shape");
    EXPECT_TRUE(a.name == veil_attr_name_known("kernel_shape"));
    EXPECT_EQ(s.used, 0); /* nothing copied */
    (void)snprintf(name, sizeof(name), "%s", "kernel_shapes");
    EXPECT_NULL(veil_attr_name_known(name));
    EXPECT_OK(veil_attr_resolve(&s, &ap, &a));
    EXPECT_STR_EQ(a.name, "kernel_shapes");
    EXPECT_TRUE(a.name != name && s.used > 0);
    EXPECT_NULL(veil_attr_name_known(""));
    EXPECT_NULL(veil_attr_name_known(NULL));
    veil_store_free(&s);
}

/* The compact record (24 bytes; graph.h struct veil_attr): an attribute that sets one field keeps
 * it in place, one that sets several (no declared type, or a malformed one) or declares a type
 * beyond a byte keeps all of them in a record of its own; either way every accessor reads what
 * the fields gave, with the same type checks. */
static void test_attr_compact(void **state)
{
    struct veil_store st = {0};
    Onnx__AttributeProto ap[7];
    struct veil_attr at[7];
    struct veil_engine_node node = {0};
    struct veil_op_ctx c = {.node = &node};
    int64_t ints[2] = {4, 5};
    float floats[3] = {0.25f, 0.5f, 0.75f};
    int64_t iv;
    float fv;
    const int64_t *ip;
    const float *fp;
    size_t cnt;
    char buf[8];
    struct veil_attr_fields f;
    (void)state;

    EXPECT_EQ(sizeof(struct veil_attr), 24);
    for (size_t k = 0; k < 7; k++) {
        Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
        ap[k] = a;
    }
    /* 0: an INT, as exporters write it */
    ap[0].name = (char *)"i_typed";
    ap[0].has_type = 1;
    ap[0].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    ap[0].has_i = 1;
    ap[0].i = -3;
    /* 1: no declared type, several fields set: each accessor reads its own */
    ap[1].name = (char *)"untyped_many";
    ap[1].has_i = 1;
    ap[1].i = 9;
    ap[1].has_f = 1;
    ap[1].f = 1.5f;
    ap[1].n_floats = 3;
    ap[1].floats = floats;
    /* 2: declared INT, but INTS set beside it (malformed): read as an int only */
    ap[2].name = (char *)"int_and_ints";
    ap[2].has_type = 1;
    ap[2].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    ap[2].has_i = 1;
    ap[2].i = 6;
    ap[2].n_ints = 2;
    ap[2].ints = ints;
    /* 3: a declared type beyond a byte (not an ONNX type): nothing reads it */
    ap[3].name = (char *)"odd_type";
    ap[3].has_type = 1;
    ap[3].type = (Onnx__AttributeProto__AttributeType)300;
    ap[3].has_i = 1;
    ap[3].i = 1;
    /* 4: declared INT, no value: present, refused */
    ap[4].name = (char *)"int_empty";
    ap[4].has_type = 1;
    ap[4].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    /* 5: FLOATS */
    ap[5].name = (char *)"fl";
    ap[5].has_type = 1;
    ap[5].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    ap[5].n_floats = 2;
    ap[5].floats = floats;
    /* 6: an empty STRING (set, of length 0) */
    ap[6].name = (char *)"s_empty";
    ap[6].has_type = 1;
    ap[6].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    ap[6].has_s = 1;
    for (size_t k = 0; k < 7; k++) {
        EXPECT_OK(veil_attr_resolve(&st, &ap[k], &at[k]));
    }
    node.attrs = at;
    node.attr_count = 7;
    EXPECT_EQ(at[0].holds, VEIL_ATTR_I);
    EXPECT_EQ(at[1].holds, VEIL_ATTR_MORE);
    EXPECT_EQ(at[2].holds, VEIL_ATTR_MORE);
    EXPECT_EQ(at[3].holds, VEIL_ATTR_MORE);
    EXPECT_EQ(at[4].holds, VEIL_ATTR_NONE);
    EXPECT_EQ(at[5].holds, VEIL_ATTR_FLOATS);
    EXPECT_EQ(at[6].holds, VEIL_ATTR_S);

    EXPECT_OK(veil_attr_int(&c, "i_typed", 0, &iv));
    EXPECT_EQ(iv, -3);
    EXPECT_ERR(veil_attr_float(&c, "i_typed", 0, &fv), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_ints(&c, "i_typed", &ip, &cnt), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_floats(&c, "i_typed", &fp, &cnt), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_string(&c, "i_typed", "", buf, sizeof(buf)), VEIL_ERR_ENGINE_ATTR);

    EXPECT_OK(veil_attr_int(&c, "untyped_many", 0, &iv));
    EXPECT_EQ(iv, 9);
    EXPECT_OK(veil_attr_float(&c, "untyped_many", 0, &fv));
    EXPECT_TRUE(fv == 1.5f);
    EXPECT_OK(veil_attr_floats(&c, "untyped_many", &fp, &cnt));
    EXPECT_EQ(cnt, 3);
    EXPECT_BYTES_EQ(fp, floats, sizeof(floats));
    EXPECT_OK(veil_attr_ints(&c, "untyped_many", &ip, &cnt)); /* untyped, not set: none */
    EXPECT_TRUE(ip == NULL && cnt == 0);
    EXPECT_ERR(veil_attr_string(&c, "untyped_many", "", buf, sizeof(buf)), VEIL_ERR_ENGINE_ATTR);

    EXPECT_OK(veil_attr_int(&c, "int_and_ints", 0, &iv));
    EXPECT_EQ(iv, 6);
    EXPECT_ERR(veil_attr_ints(&c, "int_and_ints", &ip, &cnt), VEIL_ERR_ENGINE_ATTR);
    veil_attr_fields(&at[2], &f); /* what the fusion passes read: every field, as set */
    EXPECT_TRUE(f.has_type && f.type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    EXPECT_TRUE(f.has_i && f.i == 6 && !f.has_f && !f.has_s);
    EXPECT_EQ(f.n_ints, 2);
    EXPECT_BYTES_EQ(f.ints, ints, sizeof(ints));

    EXPECT_ERR(veil_attr_int(&c, "odd_type", 0, &iv), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_ints(&c, "odd_type", &ip, &cnt), VEIL_ERR_ENGINE_ATTR);
    veil_attr_fields(&at[3], &f);
    EXPECT_TRUE(f.has_type && f.type == 300 && f.has_i && f.i == 1);

    EXPECT_ERR(veil_attr_int(&c, "int_empty", 0, &iv), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_float(&c, "int_empty", 0, &fv), VEIL_ERR_ENGINE_ATTR);
    veil_attr_fields(&at[4], &f);
    EXPECT_TRUE(f.has_type && !f.has_i && f.i == 0);

    EXPECT_OK(veil_attr_floats(&c, "fl", &fp, &cnt));
    EXPECT_EQ(cnt, 2);
    EXPECT_BYTES_EQ(fp, floats, 2 * sizeof(floats[0]));
    EXPECT_ERR(veil_attr_ints(&c, "fl", &ip, &cnt), VEIL_ERR_ENGINE_ATTR);
    EXPECT_ERR(veil_attr_float(&c, "fl", 0, &fv), VEIL_ERR_ENGINE_ATTR);

    EXPECT_OK(veil_attr_string(&c, "s_empty", "dflt", buf, sizeof(buf)));
    EXPECT_STR_EQ(buf, ""); /* set: not the default */
    EXPECT_ERR(veil_attr_int(&c, "s_empty", 0, &iv), VEIL_ERR_ENGINE_ATTR);

    /* a tensor or graph set later (link_node) is kept compactly too, or beside the fields */
    struct veil_tensor t = {0};
    EXPECT_OK(veil_attr_set_tensor(&st, &at[4], &t));
    EXPECT_EQ(at[4].holds, VEIL_ATTR_T); /* one field (of another declared type): compact */
    EXPECT_TRUE(veil_attr_tensor(&at[4]) == &t);
    EXPECT_ERR(veil_attr_int(&c, "int_empty", 0, &iv), VEIL_ERR_ENGINE_ATTR);
    EXPECT_OK(veil_attr_set_tensor(&st, &at[6], &t));
    EXPECT_EQ(at[6].holds, VEIL_ATTR_MORE); /* the string stays readable */
    EXPECT_OK(veil_attr_string(&c, "s_empty", "dflt", buf, sizeof(buf)));
    EXPECT_STR_EQ(buf, "");
    EXPECT_TRUE(veil_attr_tensor(&at[6]) == &t);
    EXPECT_NULL(veil_attr_tensor(&at[0]));
    EXPECT_NULL(veil_attr_subgraph(&at[0]));
    veil_store_free(&st);
}

/* A Constant's tensor 'value' is held without an attribute record, and once loaded without the
 * node: a value the graph holds like an initializer; one that sets more than the tensor keeps
 * its record and its node (and hands out the same tensor). */
static void test_constant_value_held(void **state)
{
    struct kit k;
    struct veil_engine_model *m = NULL;
    static char *c_out[] = {(char *)"k"};
    static char *c2_out[] = {(char *)"k2"};
    static char *add_in[] = {(char *)"X", (char *)"k"};
    static char *add_out[] = {(char *)"s"};
    static char *mul_in[] = {(char *)"s", (char *)"k2"};
    int64_t two = 2;
    float kv[2] = {10.0f, 20.0f};
    float k2v[2] = {2.0f, 3.0f};
    (void)state;

    kit_init(&k);
    kit_io(&k, &k.graphs[0], false, (const char *const[]){"X"}, 1);
    kit_io(&k, &k.graphs[0], true, (const char *const[]){"Y"}, 1);
    Onnx__NodeProto *c1 = kit_node(&k, &k.graphs[0], "Constant", NULL, 0, c_out, 1);
    Onnx__NodeProto *c2 = kit_node(&k, &k.graphs[0], "Constant", NULL, 0, c2_out, 1);
    kit_node(&k, &k.graphs[0], "Add", add_in, 2, add_out, 1);
    kit_node(&k, &k.graphs[0], "Mul", mul_in, 2, g_y, 1);
    Onnx__AttributeProto *a =
        kit_attr(&k, c1, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = kit_tensor(&k, "", VEIL_DT_FLOAT, 1, &two);
    a->t->n_float_data = 2;
    a->t->float_data = kv;
    a = kit_attr(&k, c2, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = kit_tensor(&k, "", VEIL_DT_FLOAT, 1, &two);
    a->t->n_float_data = 2;
    a->t->float_data = k2v;
    a->has_i = 1; /* malformed beside the tensor: the record stays (and the value is used) */
    a->i = 1;

    EXPECT_OK(kit_load(&k, &m));
    /* k: a value the graph holds, its node gone (graph.c drop_constant_nodes); k2's node stays
     * (its attribute record holds the tensor): k2, Add, Mul */
    EXPECT_EQ(m->main->node_count, 3);
    const struct veil_engine_node *n2 = &m->main->nodes[0];
    const struct veil_engine_node *add = &m->main->nodes[1];
    EXPECT_STR_EQ(add->op->name, "Add");
    EXPECT_EQ(add->index, 2); /* its place in the model, for diagnostics */
    const struct veil_engine_value *kval = &m->main->values[add->in[1]];
    EXPECT_EQ(kval->kind, VEIL_VALUE_INITIALIZER);
    EXPECT_EQ(m->main->slot[add->in[1]], VEIL_NO_SLOT);
    EXPECT_BYTES_EQ(kval->init->data, kv, sizeof(kv));
    EXPECT_TRUE(n2->has_constant && n2->attr_count == 1 && n2->constant_of_attr);
    EXPECT_TRUE(veil_attr_tensor(&n2->attrs[0]) == n2->constant);
    for (int rep = 0; rep < 2; rep++) {
        float x[2] = {1, 2};
        struct veil_tensor y = {0};
        run1(m, x, 2, &y);
        EXPECT_EQ(y.count, 2);
        EXPECT_TRUE(((float *)y.data)[0] == 22.0f && ((float *)y.data)[1] == 66.0f);
        veil_tensor_free(&y);
    }
    veil_engine_free(m);
}

/* After loading, the main graph's inputs and outputs keep their names (veil_engine_input_name,
 * veil_engine_output_name); the other values' names, needed only while the model is built, are
 * not kept (a node's error still names the node: test_error_names_node). */
static void test_value_names_kept(void **state)
{
    struct kit k;
    struct veil_engine_model *m = NULL;
    static char *s_out[] = {(char *)"s"};
    static char *s_in[] = {(char *)"s"};
    (void)state;

    kit_init(&k);
    kit_io(&k, &k.graphs[0], false, (const char *const[]){"X"}, 1);
    kit_io(&k, &k.graphs[0], true, (const char *const[]){"Y"}, 1);
    kit_node(&k, &k.graphs[0], "Relu", g_x, 1, s_out, 1);
    kit_node(&k, &k.graphs[0], "Neg", s_in, 1, g_y, 1);
    EXPECT_OK(kit_load(&k, &m));
    EXPECT_STR_EQ(veil_engine_input_name(m, 0), "X");
    EXPECT_STR_EQ(veil_engine_output_name(m, 0), "Y");
    EXPECT_EQ(m->main->value_count, 3);
    for (uint32_t v = 0; v < m->main->value_count; v++) {
        const struct veil_engine_value *val = &m->main->values[v];
        if (v == m->main->inputs[0] || v == m->main->outputs[0]) {
            EXPECT_NOT_NULL(val->name);
        } else {
            EXPECT_NULL(val->name); /* s */
        }
    }
    float x[2] = {-1, 2};
    struct veil_tensor y = {0};
    run1(m, x, 2, &y);
    EXPECT_TRUE(((float *)y.data)[0] == 0.0f && ((float *)y.data)[1] == -2.0f);
    veil_tensor_free(&y);
    veil_engine_free(m);
}

VEIL_TEST_MAIN(test_attr_types, test_attr_string_nul, test_subgraphs_after_free,
               test_error_names_node, test_store, test_store_mapped, test_known_names,
               test_attr_compact, test_constant_value_held, test_value_names_kept)
