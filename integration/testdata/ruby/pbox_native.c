#include <ruby.h>

static VALUE hello(VALUE self) { return rb_str_new_cstr("built offline"); }

void Init_pbox_native(void) {
	VALUE m = rb_define_module("PboxNative");
	rb_define_module_function(m, "hello", hello, 0);
}
