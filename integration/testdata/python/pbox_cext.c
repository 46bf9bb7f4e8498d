#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *hello(PyObject *self, PyObject *args) {
	return PyUnicode_FromString("built offline");
}

static PyMethodDef methods[] = {
	{"hello", hello, METH_NOARGS, "Say hello."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pbox_cext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_pbox_cext(void) { return PyModule_Create(&module); }
