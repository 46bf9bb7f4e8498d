# A legitimate native extension, compiled offline by the build step.
require "mkmf"
create_makefile("pbox_native")
