package behaviour

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/phylum-box/phylum-box/internal/sandbox"
)

// DecoyTouch is one read of a secret decoy or one write to a persistence decoy, as
// inotify reports it: no process, only the file and when it was seen.
type DecoyTouch struct {
	Time time.Time
	// Path is the file as the container sees it, with $HOME spelt "~"
	// ("~/.ssh/id_rsa", "~/.config/autostart/x.desktop").
	Path string
	// Secret is true for a read of a secret decoy, false for a write to a
	// persistence decoy.
	Secret bool
	// Op is "opened", "read", "modified", "written", "created" or "moved in".
	Op string
}

// Watch watches the decoys until Close. Made after NewDecoys wrote them, so their
// creation is not reported; phylum-box itself never opens them again.
type Watch struct {
	fd   int
	wake [2]int // a pipe: Close writes to wake[1]
	wds  map[int32]watched
	on   func(DecoyTouch)
	done chan struct{}
	once sync.Once
	// reading is held while a batch is read and reported, by the loop or by
	// Drain: a touch is reported before anything that Drain's caller does next.
	reading sync.Mutex
	buf     []byte // under reading
	closed  bool   // under reading: the fds are closed (their numbers may be reused)
}

type watched struct {
	path   string // "~/…"
	secret bool
	dir    bool
}

const (
	secretMask      = unix.IN_OPEN | unix.IN_ACCESS
	persistenceMask = unix.IN_MODIFY | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_MOVED_TO
)

// Watch starts watching; on is called, from the watch's own goroutine, for each
// touch. The watched inodes are the host files the binds show, so an open inside
// the container is reported here.
func (d *Decoys) Watch(on func(DecoyTouch)) (*Watch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watching the decoys: %w", err)
	}
	w := &Watch{fd: fd, wds: map[int32]watched{}, on: on, done: make(chan struct{}), buf: make([]byte, 64<<10)}
	if err := unix.Pipe2(w.wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("watching the decoys: %w", err)
	}
	add := func(b []bindPair, secret bool) error {
		for _, p := range b {
			mask := uint32(secretMask)
			if !secret {
				mask = persistenceMask
			}
			wd, err := unix.InotifyAddWatch(fd, p.source, mask)
			if err != nil {
				return fmt.Errorf("watching %s: %w", p.source, err)
			}
			w.wds[int32(wd)] = watched{path: d.tilde(p.target), secret: secret, dir: strings.HasSuffix(p.target, "/")}
		}
		return nil
	}
	if err := add(pairs(d.Secrets, false), true); err != nil {
		w.closeFds()
		return nil, err
	}
	if err := add(pairs(d.Persistence, true), false); err != nil {
		w.closeFds()
		return nil, err
	}
	go w.loop()
	return w, nil
}

type bindPair struct{ source, target string }

// pairs lists binds; with dirs, a directory target gets a trailing "/" so its
// events name the file below it.
func pairs(bs []sandbox.FileBind, dirs bool) []bindPair {
	var out []bindPair
	for _, b := range bs {
		t := b.Target
		if dirs && isDir(b.Source) {
			t += "/"
		}
		out = append(out, bindPair{b.Source, t})
	}
	return out
}

func isDir(p string) bool {
	var st unix.Stat_t
	return unix.Stat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// tilde spells a container path below $HOME as "~/…".
func (d *Decoys) tilde(p string) string {
	if rel, err := filepath.Rel(d.Home, strings.TrimSuffix(p, "/")); err == nil && !strings.HasPrefix(rel, "..") {
		if strings.HasSuffix(p, "/") {
			rel += "/"
		}
		return "~/" + rel
	}
	return p
}

// watchLoopStall, set by tests only, delays the loop's reads as a loaded
// machine may.
var watchLoopStall func()

func (w *Watch) loop() {
	defer close(w.done)
	for {
		fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}, {Fd: int32(w.wake[0]), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		if fds[1].Revents != 0 {
			// Closing: what the finished container did is queued already.
			w.Drain()
			return
		}
		if watchLoopStall != nil {
			watchLoopStall()
		}
		w.reading.Lock()
		w.readOnce()
		w.reading.Unlock()
	}
}

// Drain reports, before it returns, every touch already queued: call it where
// the order matters, when a process ends or a new program starts. A touch is
// queued by the open or write itself, so one a script made before it called
// exit_group is reported while the script is still there to own it (under
// load the loop's goroutine may run only after the next script has started).
func (w *Watch) Drain() {
	w.reading.Lock()
	defer w.reading.Unlock()
	for !w.closed && w.readOnce() {
	}
}

// readOnce reads and reports one batch of events; false when none was queued.
func (w *Watch) readOnce() bool {
	buf := w.buf
	n, err := unix.Read(w.fd, buf)
	if err != nil || n <= 0 {
		return false
	}
	now := time.Now()
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		name := ""
		if ev.Len > 0 {
			end := off + unix.SizeofInotifyEvent + int(ev.Len)
			if end > n {
				break
			}
			name = strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:end]), "\x00")
		}
		off += unix.SizeofInotifyEvent + int(ev.Len)
		wt, ok := w.wds[ev.Wd]
		if !ok || ev.Mask&unix.IN_IGNORED != 0 {
			continue
		}
		p := wt.path
		if name != "" {
			p = strings.TrimSuffix(p, "/") + "/" + name
		}
		w.on(DecoyTouch{Time: now, Path: p, Secret: wt.secret, Op: opName(ev.Mask)})
	}
	return true
}

func opName(mask uint32) string {
	switch {
	case mask&unix.IN_CREATE != 0:
		return "created"
	case mask&unix.IN_MOVED_TO != 0:
		return "moved in"
	case mask&unix.IN_MODIFY != 0:
		return "modified"
	case mask&unix.IN_CLOSE_WRITE != 0:
		return "written"
	case mask&unix.IN_ACCESS != 0:
		return "read"
	default:
		return "opened"
	}
}

// Close reports what is still queued and stops watching. Call it after the
// container has exited; calling it again does nothing.
//
// The inotify fd itself is closed in the background: the kernel's release of an
// inotify instance waits for an SRCU grace period before it returns (10–16 ms
// here), time the step's caller need not wait. Nothing reads the fd once closed
// is set, and the watches' events no longer matter.
func (w *Watch) Close() {
	w.once.Do(func() {
		_, _ = unix.Write(w.wake[1], []byte{0})
		<-w.done
		fd := w.detach()
		go unix.Close(fd)
	})
}

// closeFds closes every fd at once (a Watch that failed to start).
func (w *Watch) closeFds() {
	unix.Close(w.detach())
}

// detach marks the watch closed, closes the wake pipe and returns the inotify
// fd, which the caller closes.
func (w *Watch) detach() int {
	w.reading.Lock()
	defer w.reading.Unlock()
	w.closed = true
	unix.Close(w.wake[0])
	unix.Close(w.wake[1])
	return w.fd
}
