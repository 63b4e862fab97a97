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

#define MAX_ARGS 4
#define MAX_DIMS 4
#define MAX_STEPS 9

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
