#include <node_api.h>

static napi_value Answer(napi_env env, napi_callback_info info) {
  napi_value v;
  napi_create_int32(env, 42, &v);
  return v;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "answer", NAPI_AUTO_LENGTH, Answer, NULL, &fn);
  napi_set_named_property(env, exports, "answer", fn);
  return exports;
}
