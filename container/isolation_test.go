package container_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/phylum-box/phylum-box/container"
)

// tcpProbe is a bash one-liner: connect to 127.0.0.1:port with bash's /dev/tcp.
func tcpProbe(port int) string {
	return fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d && echo connected", port)
}

func TestNetworkIsolation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	b := newBox(t)

	t.Run("default: the host's loopback listener is unreachable", func(t *testing.T) {
		o := b.run(context.Background(), nil, "/bin/bash", "-c", tcpProbe(port))
		if o.ExitCode == 0 || strings.Contains(o.stdout, "connected") {
			t.Fatalf("connected to the host's 127.0.0.1:%d from a no-network container", port)
		}
	})
	t.Run("default: own loopback is up", func(t *testing.T) {
		// A listener inside the container on its own lo answers: lo is up.
		o := b.run(context.Background(), nil, "/bin/bash", "-c",
			"cat /sys/class/net/lo/operstate 2>/dev/null; grep -q ' lo:' /proc/net/dev && ip=$(awk '$1==\"lo:\"{print $1}' /proc/net/dev); "+
				"python3 -c 'import socket;s=socket.socket();s.bind((\"127.0.0.1\",0));s.listen();c=socket.create_connection(s.getsockname());print(\"lo-ok\")'")
		if !strings.Contains(o.stdout, "lo-ok") {
			t.Fatalf("loopback inside the container does not work: %q %q", o.stdout, o.stderr)
		}
	})
	t.Run("network: shares the host's network", func(t *testing.T) {
		o := b.run(context.Background(), func(s *container.Spec) { s.Network = true }, "/bin/bash", "-c", tcpProbe(port))
		if !strings.Contains(o.stdout, "connected") {
			t.Fatalf("with Network the host listener is unreachable: %q %q", o.stdout, o.stderr)
		}
	})
}

func TestNoCapabilities(t *testing.T) {
	b := newBox(t)
	for _, tc := range []struct {
		name, attack, twin string
	}{
		// chown to another id needs CAP_CHOWN; chown to yourself does not.
		{"chown", "touch /work/f && chown 1:1 /work/f", "touch /work/g && chown 0:0 /work/g"},
		// mount needs CAP_SYS_ADMIN (and is refused by seccomp too).
		{"mount", "mount -t tmpfs none /tmp", "touch /tmp/x"},
		{"mknod", "mknod /tmp/null c 1 3", "mkfifo /tmp/fifo"},
		{"capabilities are empty", "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status | grep -v '0000000000000000$'", "grep -q '^NoNewPrivs:.1' /proc/self/status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if o := b.run(context.Background(), nil, "/bin/sh", "-c", tc.attack); o.ExitCode == 0 {
				t.Errorf("attack %q succeeded: %q", tc.attack, o.stdout)
			}
			if o := b.run(context.Background(), nil, "/bin/sh", "-c", tc.twin); o.ExitCode != 0 {
				t.Errorf("legitimate twin %q failed: %q", tc.twin, o.stderr)
			}
		})
	}
}

func TestFileSystemView(t *testing.T) {
	b := newBox(t)
	home, _ := os.UserHomeDir()
	for _, tc := range []struct {
		name, cmd string
		ok        bool
	}{
		{"home is an empty tmpfs", "test -z \"$(ls -A /home/tester)\" && touch /home/tester/x", true},
		{"real home invisible", "ls -A " + home + " | grep .", false},
		{"/root invisible", "ls -A /root 2>/dev/null | grep .", false},
		{"/usr read-only", "touch /usr/pb-test", false},
		{"/etc read-only", "echo x >> /etc/hosts", false},
		{"root read-only", "mkdir /pb-test", false},
		{"/tmp writable", "echo x > /tmp/x && echo y > /var/tmp/y", true},
		{"merged-usr links", "test -L /bin && /bin/true", true},
		{"machine-id masked", "test ! -s /etc/machine-id", true},
		{"/proc/kcore masked", "test ! -s /proc/kcore", true},
		{"host processes invisible", fmt.Sprintf("test ! -e /proc/%d/status && test $(ls /proc | grep -c '^[0-9]') -le 6", os.Getpid()), true},
		{"host processes unsignallable", fmt.Sprintf("kill -0 %d", os.Getpid()), false},
		{"minimal /dev", "test -c /dev/null -a -c /dev/urandom && ! test -e /dev/sda && ! test -e /dev/kmsg", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := b.run(context.Background(), nil, "/bin/sh", "-c", tc.cmd)
			if (o.ExitCode == 0) != tc.ok {
				t.Fatalf("%q: exit %d, want success=%v (stdout %q stderr %q)", tc.cmd, o.ExitCode, tc.ok, o.stdout, o.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(b.work, "x")); err == nil {
		t.Fatal("write leaked")
	}
}

func TestNoFdLeak(t *testing.T) {
	// A descriptor without O_CLOEXEC in phylum-box (dup clears the flag) is
	// inherited by the container's init across fork+exec; init must close it.
	f, err := os.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	leaky, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leaky)
	b := newBox(t)
	// The command itself (pid 1) lists its open descriptors above stdio.
	o := b.run(context.Background(), nil, "python3", "-c",
		"import fcntl\nopen_fds=[]\nfor fd in range(3,4096):\n  try: fcntl.fcntl(fd,fcntl.F_GETFD); open_fds.append(fd)\n  except OSError: pass\nprint(open_fds)")
	if strings.TrimSpace(o.stdout) != "[]" {
		t.Fatalf("the container's command has fds %q open besides stdio (leaky fd was %d); stderr %q", o.stdout, leaky, o.stderr)
	}
}

func TestStaleStateCleaned(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	res, err := container.Reserve(state)
	if err != nil {
		t.Fatal(err)
	}
	// Simulate a phylum-box killed with SIGKILL: its lock is dropped without
	// cleanup (closing the fd releases the flock, the files stay).
	if err := os.WriteFile(filepath.Join(res.Dir, "leftover"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	abandon(res)
	live, err := container.Reserve(state)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Release()
	if _, err := os.Stat(res.Dir); !os.IsNotExist(err) {
		t.Fatalf("stale run dir %s survived the next Reserve", res.Dir)
	}
	// A live run is never cleaned.
	cleaned, err := container.CleanStale(state)
	if err != nil || len(cleaned) != 0 {
		t.Fatalf("CleanStale removed %v (err %v) while the run is live", cleaned, err)
	}
	if _, err := os.Stat(live.Dir); err != nil {
		t.Fatal("live run dir removed")
	}
}

var abandon = container.Abandon

func TestAbstractUnixSockets(t *testing.T) {
	name := fmt.Sprintf("@phylum-box-test-%d", os.Getpid())
	ln, err := net.Listen("unix", name)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	probe := "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n  s.connect('\\0'+sys.argv[1]); print('connected')\nexcept OSError as e: print('refused', e.errno)"
	twin := "import socket\na=socket.socket(socket.AF_UNIX); a.bind('\\0pb-inner'); a.listen()\nb=socket.socket(socket.AF_UNIX); b.connect('\\0pb-inner'); print('connected')"
	b := newBox(t)
	for _, network := range []bool{false, true} {
		t.Run(fmt.Sprintf("network=%v", network), func(t *testing.T) {
			o := b.run(context.Background(), func(s *container.Spec) { s.Network = network }, "python3", "-c", probe, name[1:])
			if network && !o.AbstractSocketsScoped {
				t.Skipf("no Landlock scoping for this identity/kernel; the run warned instead")
			}
			if strings.Contains(o.stdout, "connected") {
				t.Fatalf("reached the host's abstract socket %s: %q", name, o.stdout)
			}
			o = b.run(context.Background(), func(s *container.Spec) { s.Network = network }, "python3", "-c", twin)
			if !strings.Contains(o.stdout, "connected") {
				t.Fatalf("twin: an abstract socket made inside is unusable: %q %q", o.stdout, o.stderr)
			}
		})
	}
}
