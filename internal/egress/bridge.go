package egress

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// BridgeCommand is the hidden phylum-box subcommand that runs Bridge inside a
// container: phylum-box egress-bridge --socket PATH [--listen ADDR] -- CMD ARGS...
const BridgeCommand = "egress-bridge"

// BridgeArgs is the argv (after the binary) that runs argv behind the bridge.
func BridgeArgs(socket string, argv []string) []string {
	return append([]string{BridgeCommand, "--socket", socket, "--"}, argv...)
}

// ProxyEnv are the variables the bridge sets for its command, with the proxy's
// URL: the usual proxy variables, none bypassed (pip and curl would otherwise go
// direct for some hosts and fail), pip's own setting, which a pip.conf `proxy =`
// would override otherwise, and npm's (npm_config_proxy and
// npm_config_https_proxy, which npm passes on to install scripts: downloaders
// such as node-pre-gyp and prebuild-install read them, not HTTP_PROXY).
func ProxyEnv(proxyURL string) []string {
	return []string{
		"HTTP_PROXY=" + proxyURL, "HTTPS_PROXY=" + proxyURL, "http_proxy=" + proxyURL, "https_proxy=" + proxyURL,
		"ALL_PROXY=" + proxyURL, "all_proxy=" + proxyURL, "PIP_PROXY=" + proxyURL,
		"npm_config_proxy=" + proxyURL, "npm_config_https_proxy=" + proxyURL,
		"NO_PROXY=", "no_proxy=",
	}
}

// ParseBridgeArgs parses the bridge subcommand's argv.
func ParseBridgeArgs(args []string) (socket, listen string, argv []string, err error) {
	listen = "127.0.0.1:0"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			argv = args[i+1:]
			i = len(args)
		case a == "--socket" || a == "--listen":
			if i+1 >= len(args) {
				return "", "", nil, fmt.Errorf("%s needs a value", a)
			}
			i++
			if a == "--socket" {
				socket = args[i]
			} else {
				listen = args[i]
			}
		case strings.HasPrefix(a, "--socket="):
			socket = strings.TrimPrefix(a, "--socket=")
		case strings.HasPrefix(a, "--listen="):
			listen = strings.TrimPrefix(a, "--listen=")
		default:
			return "", "", nil, fmt.Errorf("unexpected argument %q (usage: %s --socket PATH [--listen ADDR] -- CMD [ARGS...])", a, BridgeCommand)
		}
	}
	if socket == "" || len(argv) == 0 {
		return "", "", nil, fmt.Errorf("usage: %s --socket PATH [--listen ADDR] -- CMD [ARGS...]", BridgeCommand)
	}
	return socket, listen, argv, nil
}

// Bridge listens on listen (a loopback address of the container's own network
// namespace), relays each TCP connection to the proxy's unix socket, and runs
// argv with the proxy variables pointing at it. It relays signals and returns
// argv's exit status (128+n for a signal). As the container's pid 1 it also
// reaps orphans.
func Bridge(socket, listen string, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if st, err := os.Stat(socket); err != nil {
		return 0, fmt.Errorf("egress proxy socket: %w", err)
	} else if st.Mode()&os.ModeSocket == 0 {
		return 0, fmt.Errorf("egress proxy socket %s is not a socket", socket)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			go relay(c, socket)
		}
	}()
	env := setEnv(os.Environ(), ProxyEnv("http://"+ln.Addr().String())...)
	// The proxy variables leave PATH alone: this process's PATH is the command's.
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return 127, fmt.Errorf("%s: %w", argv[0], err)
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Stdin: stdin, Stdout: stdout, Stderr: stderr}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 126, err
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	pid := cmd.Process.Pid
	if os.Getpid() == 1 {
		// Reap every orphan, and find our child's status among them.
		for {
			var ws syscall.WaitStatus
			wpid, err := syscall.Wait4(-1, &ws, 0, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil {
				return 1, err
			}
			if wpid == pid {
				return status(ws), nil
			}
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return status(ee.Sys().(syscall.WaitStatus)), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

func status(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func relay(c net.Conn, socket string) {
	defer c.Close()
	u, err := net.DialTimeout("unix", socket, 10*time.Second)
	if err != nil {
		return
	}
	defer u.Close()
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(u, c)
		_ = u.(*net.UnixConn).CloseWrite()
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(c, u)
		_ = c.(*net.TCPConn).CloseWrite()
		done <- struct{}{}
	}()
	<-done
	<-done
}

// setEnv sets each KEY=VALUE of kvs in env (dropping earlier values of KEY).
func setEnv(env []string, kvs ...string) []string {
	out := make([]string, 0, len(env)+len(kvs))
	set := map[string]bool{}
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !set[k] {
			out = append(out, kv)
		}
	}
	return append(out, kvs...)
}
