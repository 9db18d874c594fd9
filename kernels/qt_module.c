/* Minimal CPython extension stub: importing quanttheory._qtkernels locates the shared
 * object, whose exported qt_* symbols are then called through ctypes (quanttheory/kernels.py).
 * Keeping the binding in Python keeps every argument check in one readable place. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef qt_module = {
    PyModuleDef_HEAD_INIT, "_qtkernels",
    "Bit-packed NEON/SIMDe GEMM kernels (C symbols qt_*; use quanttheory.kernels).", -1, NULL,
};

PyMODINIT_FUNC PyInit__qtkernels(void) { return PyModule_Create(&qt_module); }
