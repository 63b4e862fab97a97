/* A time loop of NumPy's own inner loops, run from C (optional; rnnanalysis/_kernel/__init__.py).
 *
 * A step of a recurrent cell is a short, fixed sequence of NumPy calls (a matmul, a few
 * elementwise ufuncs), repeated T times on arrays that move by a fixed number of bytes per
 * step. At small sizes the Python interpreter and the ufunc dispatch around each call cost
 * more than the arithmetic. run() replays such a sequence T times by calling the very inner
 * loops NumPy itself calls (read from the public head of NumPy's ufunc objects), so the
 * results are those of the NumPy path, bit for bit, without the per-call overhead.
 *
 * No NumPy headers are needed to build it: the loop signature and the head of PyUFuncObject
 * are the documented, ABI-stable C-API of NumPy, restated below. rnnanalysis/_kernel/__init__.py checks
 * every loop it binds against NumPy on sample data before using it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fenv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void (*loop_fn)(char **args, const Py_ssize_t *dims, const Py_ssize_t *steps, void *data);

/* The public head of numpy's PyUFuncObject (numpy/ufuncobject.h). */
typedef struct {
    PyObject_HEAD
    int nin, nout, nargs;
    int identity;
    loop_fn *functions;
    void **data;
    int ntypes;
    int reserved1;
    const char *name;
    const char *types;
} ufunc_head;

#define MAX_ARGS 10
#define MAX_DIMS 4
#define MAX_STEPS 12

typedef struct {
    loop_fn fn;
    void *data;
    int nargs;
    Py_ssize_t outer;                       /* the loop is called this many times per step */
    int watch;                              /* the FE_* flags of this op that are reported */
    Py_ssize_t dims[MAX_DIMS];
    Py_ssize_t steps[MAX_STEPS];
    char *base[MAX_ARGS];                   /* operand pointers at step 0 */
    Py_ssize_t per_step[MAX_ARGS];          /* bytes an operand moves per step */
    Py_ssize_t per_outer[MAX_ARGS];         /* bytes it moves per outer call */
} op_t;

/* loop(ufunc, types: bytes) -> (function address, data address) of the inner loop whose
 * operand type numbers are ``types`` (e.g. b"\x0c\x0c" for float64 -> float64), or None. */
static PyObject *
kernel_loop(PyObject *self, PyObject *args)
{
    PyObject *uf;
    const char *types;
    Py_ssize_t ntypes;
    if (!PyArg_ParseTuple(args, "Oy#", &uf, &types, &ntypes))
        return NULL;
    if (strcmp(Py_TYPE(uf)->tp_name, "numpy.ufunc") != 0) {
        PyErr_SetString(PyExc_TypeError, "ufunc: expected a numpy.ufunc");
        return NULL;
    }
    const ufunc_head *u = (const ufunc_head *)uf;
    if (u->nargs != ntypes || u->functions == NULL || u->types == NULL)
        Py_RETURN_NONE;
    for (int i = 0; i < u->ntypes; i++) {
        int same = 1;
        for (int j = 0; j < u->nargs; j++)
            same &= (u->types[i * u->nargs + j] == types[j]);
        if (same && u->functions[i] != NULL)
            return Py_BuildValue("(KK)", (unsigned long long)(uintptr_t)u->functions[i],
                                 (unsigned long long)(uintptr_t)(u->data ? u->data[i] : NULL));
    }
    Py_RETURN_NONE;
}

/* ---- Fused LSTM gate step ------------------------------------------------------------------
 * lstm_forward replays, in one function, the elementwise calls of one LSTM step as
 * rnnanalysis/cells/lstm.py makes them (_gates_step), in the same order: every +, -, * and / is
 * the correctly rounded IEEE operation NumPy's own loops make (no contraction into fused
 * multiply-adds: built with -ffp-contract=off), and exp and tanh are NumPy's own inner loops,
 * passed in. So the results are those of the separate calls bit for bit; what goes away is
 * ~20 passes over memory and the gate-major copy of the input projection.
 *
 * args (step t): u (R rows of 4n, PyTorch's gate order i, f, g, o), tmp (4, R, n: the
 * recurrent product, gate-major i, f, o, g), s_prev and s_next (R rows of 2n: h, c), k_ifg
 * (3, R, n), k_o, k_hc, f (R, n each), work (7, R, n); dims (R, n); data: int64 addresses of
 * NumPy's exp loop, its data, NumPy's tanh loop, its data (for this dtype). */
#define WATCHED_FE (FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW | FE_INVALID)

static void
unary(const int64_t *loops, int which, char *in, char *out, Py_ssize_t count, Py_ssize_t size)
{
    char *a[2] = {in, out};
    Py_ssize_t d[1] = {count}, s[2] = {size, size};
    ((loop_fn)(uintptr_t)loops[2 * which])(a, d, s, (void *)(uintptr_t)loops[2 * which + 1]);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define IVDEP _Pragma("GCC ivdep")      /* the operands never overlap (distinct arrays) */
#else
#define IVDEP
#endif

#define LSTM_FORWARD(NAME, T)                                                                     \
VECTOR_CLONES static void                                                                        \
NAME(char **args, const Py_ssize_t *dims, const Py_ssize_t *steps, void *data)                   \
{                                                                                                \
    const int64_t *loops = (const int64_t *)data;                                                \
    const Py_ssize_t R = dims[0], n = dims[1], N = R * n;                                        \
    const T *restrict tmp = (const T *)args[1];                                                  \
    T *restrict k_ifg = (T *)args[4], *restrict k_o = (T *)args[5], *restrict k_hc = (T *)args[6]; \
    T *restrict f_out = (T *)args[7];                                                            \
    T *restrict sg = (T *)args[8], *restrict ag = sg + 3 * N, *restrict g = sg + 4 * N;         \
    T *restrict c = sg + 5 * N, *restrict phi = sg + 6 * N;                                      \
    const T one = 1;                                                                             \
    int acc = 0;                                                                                 \
    (void)steps;                                                                                 \
    for (Py_ssize_t r = 0; r < R; r++) {          /* a = u + tmp; the sigmoid blocks negated */ \
        const T *restrict u = (const T *)args[0] + r * 4 * n;                                    \
        for (int q = 0; q < 4; q++) {                                                            \
            const T *restrict ur = u + (q == 2 ? 3 : q == 3 ? 2 : q) * n;                        \
            const T *restrict tr = tmp + q * N + r * n;                                          \
            if (q < 3) {                                                                         \
                T *restrict o = sg + q * N + r * n;                                              \
                IVDEP for (Py_ssize_t j = 0; j < n; j++) o[j] = -(ur[j] + tr[j]);                      \
            } else {                                                                             \
                T *restrict o = ag + r * n;                                                      \
                IVDEP for (Py_ssize_t j = 0; j < n; j++) o[j] = ur[j] + tr[j];                         \
            }                                                                                    \
        }                                                                                        \
    }                                                                                            \
    acc |= fetestexcept(WATCHED_FE);                                                             \
    feclearexcept(WATCHED_FE);                                                                   \
    unary(loops, 0, (char *)sg, (char *)sg, 3 * N, sizeof(T));        /* exp, overflow ignored */ \
    acc |= fetestexcept(WATCHED_FE) & ~FE_OVERFLOW;                                              \
    feclearexcept(WATCHED_FE);                                                                   \
    IVDEP for (Py_ssize_t k = 0; k < 3 * N; k++) sg[k] = one / (sg[k] + one);                          \
    acc |= fetestexcept(WATCHED_FE);                                                             \
    unary(loops, 1, (char *)ag, (char *)g, N, sizeof(T));                        /* g = tanh */ \
    acc |= fetestexcept(WATCHED_FE);                                                             \
    const T *restrict i = sg, *restrict f = sg + N, *restrict o = sg + 2 * N;                    \
    for (Py_ssize_t r = 0; r < R; r++) {                                                         \
        const T *restrict cp = (const T *)args[2] + r * 2 * n + n;                               \
        IVDEP for (Py_ssize_t j = 0; j < n; j++) {                                                     \
            const Py_ssize_t x = r * n + j;                                                      \
            const T fc = f[x] * cp[j], ig = i[x] * g[x];                                         \
            c[x] = fc + ig;                                                                      \
        }                                                                                        \
    }                                                                                            \
    acc |= fetestexcept(WATCHED_FE);                                                             \
    unary(loops, 1, (char *)c, (char *)phi, N, sizeof(T));                    /* phi = tanh c */ \
    acc |= fetestexcept(WATCHED_FE);                                                             \
    T *restrict k_i = k_ifg, *restrict k_f = k_ifg + N, *restrict k_g = k_ifg + 2 * N;           \
    for (Py_ssize_t r = 0; r < R; r++) {                                                         \
        const T *restrict cp = (const T *)args[2] + r * 2 * n + n;                               \
        T *restrict h = (T *)args[3] + r * 2 * n, *restrict cn = h + n;                          \
        IVDEP for (Py_ssize_t j = 0; j < n; j++) {                                                     \
            const Py_ssize_t x = r * n + j;                                                      \
            const T vi = i[x], vf = f[x], vo = o[x], vg = g[x], vp = phi[x];                     \
            h[j] = vo * vp;                                                                      \
            cn[j] = c[x];                                                                        \
            k_i[x] = ((one - vi) * vi) * vg;                                                     \
            k_f[x] = ((one - vf) * vf) * cp[j];                                                  \
            k_g[x] = (one - vg * vg) * vi;                                                       \
            k_o[x] = ((one - vo) * vo) * vp;                                                     \
            k_hc[x] = (one - vp * vp) * vo;                                                      \
            f_out[x] = vf;                                                                       \
        }                                                                                        \
    }                                                                                            \
    acc |= fetestexcept(WATCHED_FE);                                                             \
    feclearexcept(WATCHED_FE);                                                                   \
    if (acc) feraiseexcept(acc);                                                                 \
}

LSTM_FORWARD(lstm_forward_f32, float)
LSTM_FORWARD(lstm_forward_f64, double)

/* lstm_backward: the elementwise calls of LSTM's adjoint step before its product with W_hh
 * (LSTM._backward_program, same order): g_ct = g_h k_hc + g_c, and the gate gradients
 * g_a = (g_ct k_i, g_ct k_f, g_ct k_g, g_h k_o) in PyTorch's order.
 * args: x (R rows of 2n: g_h, g_c), k_hc (R, n), k_ifg (3, R, n), k_o (R, n), g_ct (R, n),
 * g_a (R rows of 4n); dims (R, n). */
#define LSTM_BACKWARD(NAME, T)                                                                    \
VECTOR_CLONES static void                                                                        \
NAME(char **args, const Py_ssize_t *dims, const Py_ssize_t *steps, void *data)                   \
{                                                                                                \
    const Py_ssize_t R = dims[0], n = dims[1], N = R * n;                                        \
    const T *k_hc = (const T *)args[1], *k_ifg = (const T *)args[2], *k_o = (const T *)args[3];  \
    T *g_ct = (T *)args[4];                                                                      \
    (void)steps;                                                                                 \
    (void)data;                                                                                  \
    for (Py_ssize_t r = 0; r < R; r++) {                                                         \
        const T *g_h = (const T *)args[0] + r * 2 * n, *g_c = g_h + n;                           \
        T *ga = (T *)args[5] + r * 4 * n, *gc = g_ct + r * n;                                    \
        const T *ki = k_ifg + r * n, *kf = ki + N, *kg = kf + N;                                 \
        const T *kh = k_hc + r * n, *ko = k_o + r * n;                                           \
        IVDEP for (Py_ssize_t j = 0; j < n; j++) {                                               \
            const T hk = g_h[j] * kh[j], ct = hk + g_c[j];                                       \
            gc[j] = ct;                                                                          \
            ga[j] = ct * ki[j];                                                                  \
            ga[n + j] = ct * kf[j];                                                              \
            ga[2 * n + j] = ct * kg[j];                                                          \
            ga[3 * n + j] = g_h[j] * ko[j];                                                      \
        }                                                                                        \
    }                                                                                            \
}

LSTM_BACKWARD(lstm_backward_f32, float)
LSTM_BACKWARD(lstm_backward_f64, double)

/* NumPy's type numbers of float32 and float64 (NPY_FLOAT, NPY_DOUBLE; numpy.dtype(...).num):
 * the module does not include NumPy's headers. */
enum { TYPE_FLOAT32 = 11, TYPE_FLOAT64 = 12 };

static loop_fn
by_type(int typenum, loop_fn f32, loop_fn f64)
{
    return typenum == TYPE_FLOAT32 ? f32 : typenum == TYPE_FLOAT64 ? f64 : NULL;
}

/* fused(name, typenum) -> address of the fused step ``name`` for that dtype, or None. */
static PyObject *
kernel_fused(PyObject *self, PyObject *args)
{
    const char *name;
    int typenum;
    if (!PyArg_ParseTuple(args, "si", &name, &typenum))
        return NULL;
    loop_fn fn = NULL;
    if (strcmp(name, "lstm_forward") == 0)
        fn = by_type(typenum, lstm_forward_f32, lstm_forward_f64);
    else if (strcmp(name, "lstm_backward") == 0)
        fn = by_type(typenum, lstm_backward_f32, lstm_backward_f64);
    if (fn == NULL)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong((unsigned long long)(uintptr_t)fn);
}

/* run(program: bytes-like of int64, T: int): the program is a count of ops followed by, per op,
 *   fn, data, nargs, outer, ndims, nsteps, ignore, dims[ndims], steps[nsteps],
 *   base[nargs], per_step[nargs], per_outer[nargs]
 * and run() calls, for t = 0 .. T-1 and each op in order, its loop ``outer`` times with operand
 * pointers base + t * per_step + k * per_outer. ``ignore``: bits (1 divide, 2 overflow,
 * 4 underflow, 8 invalid) of exceptions this op does not report (NumPy's path runs it inside
 * numpy.errstate(...="ignore")). The caller keeps every operand alive. Returns
 * the floating-point exceptions raised meanwhile, (divide, overflow, underflow, invalid), as
 * NumPy's ufunc machinery would have seen them (rnnanalysis/_kernel/ reports them like NumPy). */
static PyObject *
kernel_run(PyObject *self, PyObject *args)
{
    Py_buffer prog;
    Py_ssize_t T;
    if (!PyArg_ParseTuple(args, "y*n", &prog, &T))
        return NULL;
    const int64_t *p = (const int64_t *)prog.buf;
    const int64_t *end = p + prog.len / (Py_ssize_t)sizeof(int64_t);
    if (p >= end || *p < 0 || *p > 4096) {
        PyBuffer_Release(&prog);
        PyErr_SetString(PyExc_ValueError, "program: bad op count");
        return NULL;
    }
    int nops = (int)*p++;
    op_t *ops = calloc(nops > 0 ? nops : 1, sizeof(op_t));
    if (ops == NULL) {
        PyBuffer_Release(&prog);
        return PyErr_NoMemory();
    }
    const int watched = FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW | FE_INVALID;
    const char *bad = NULL;
    for (int i = 0; i < nops && bad == NULL; i++) {
        op_t *op = &ops[i];
        if (end - p < 7) { bad = "truncated op header"; break; }
        op->fn = (loop_fn)(uintptr_t)p[0];
        op->data = (void *)(uintptr_t)p[1];
        op->nargs = (int)p[2];
        op->outer = (Py_ssize_t)p[3];
        int ndims = (int)p[4], nsteps = (int)p[5];
        int64_t ignore = p[6];
        op->watch = watched & ~(((ignore & 1) ? FE_DIVBYZERO : 0) | ((ignore & 2) ? FE_OVERFLOW : 0)
                                | ((ignore & 4) ? FE_UNDERFLOW : 0) | ((ignore & 8) ? FE_INVALID : 0));
        p += 7;
        if (op->fn == NULL || op->nargs < 1 || op->nargs > MAX_ARGS || ndims < 1 || ndims > MAX_DIMS
            || nsteps < 1 || nsteps > MAX_STEPS || op->outer < 1
            || end - p < ndims + nsteps + 3 * op->nargs) { bad = "bad op"; break; }
        for (int k = 0; k < ndims; k++) op->dims[k] = (Py_ssize_t)*p++;
        for (int k = 0; k < nsteps; k++) op->steps[k] = (Py_ssize_t)*p++;
        for (int k = 0; k < op->nargs; k++) op->base[k] = (char *)(uintptr_t)*p++;
        for (int k = 0; k < op->nargs; k++) op->per_step[k] = (Py_ssize_t)*p++;
        for (int k = 0; k < op->nargs; k++) op->per_outer[k] = (Py_ssize_t)*p++;
    }
    if (bad == NULL && p != end)
        bad = "trailing data";
    PyBuffer_Release(&prog);
    if (bad != NULL) {
        free(ops);
        PyErr_Format(PyExc_ValueError, "program: %s", bad);
        return NULL;
    }
    int raised = 0;
    Py_BEGIN_ALLOW_THREADS
    feclearexcept(FE_ALL_EXCEPT);
    char *ptr[MAX_ARGS];
    for (Py_ssize_t t = 0; t < T; t++) {
        for (int i = 0; i < nops; i++) {
            const op_t *op = &ops[i];
            for (Py_ssize_t k = 0; k < op->outer; k++) {
                for (int a = 0; a < op->nargs; a++)
                    ptr[a] = op->base[a] + t * op->per_step[a] + k * op->per_outer[a];
                op->fn(ptr, op->dims, op->steps, op->data);
            }
            raised |= fetestexcept(op->watch);   /* after each op: some NumPy loops clear the flags */
            if (op->watch != watched)
                feclearexcept(watched);           /* what this op ignores must not reach the next */
        }
    }
    feclearexcept(FE_ALL_EXCEPT);
    Py_END_ALLOW_THREADS
    free(ops);
    return Py_BuildValue("(NNNN)", PyBool_FromLong(raised & FE_DIVBYZERO), PyBool_FromLong(raised & FE_OVERFLOW),
                         PyBool_FromLong(raised & FE_UNDERFLOW), PyBool_FromLong(raised & FE_INVALID));
}

static PyMethodDef methods[] = {
    {"loop", kernel_loop, METH_VARARGS, "loop(ufunc, types) -> (function, data) addresses or None"},
    {"fused", kernel_fused, METH_VARARGS, "fused(name, typenum) -> address of a fused step or None"},
    {"run", kernel_run, METH_VARARGS, "run(program, T) -> FP exceptions (divide, over, under, invalid): replay a program T times"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_runner", "NumPy's inner loops replayed over time from C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__runner(void)
{
    return PyModule_Create(&module);
}
