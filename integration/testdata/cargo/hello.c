int pbox_hello(void) { return 42; }
