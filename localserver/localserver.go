// Package localserver starts real PostgreSQL, Redis and etcd servers on this
// machine, on loopback ports, with their data in a folder of the caller's.
// Tests use it through package servertest; the sandbox uses it directly.
package localserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// ErrMissing is returned when a server's binary is not installed; the error
// text names the command that installs it.
var ErrMissing = errors.New("server binary not found")

// missing wraps ErrMissing with the binary's name and its install command.
func missing(binary, install string) error {
	return fmt.Errorf("%w: %s is not installed; install it with: %s", ErrMissing, binary, install)
}

// FreePort asks the kernel for a free loopback TCP port. Another process may
// take it before the caller binds it, so starters retry on a bind failure.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitTCP waits until addr accepts TCP connections, the process exits, or ctx ends.
func waitTCP(ctx context.Context, addr string, exited <-chan struct{}) error {
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", addr, ctx.Err())
		case <-exited:
			return fmt.Errorf("server for %s exited before it accepted connections", addr)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// process is a started server process whose exit is observed by one goroutine.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

func startProcess(cmd *exec.Cmd) (*process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(cmd.Path), err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends sig and waits up to grace for the exit, then kills the process.
func (p *process) stop(sig os.Signal, grace time.Duration) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within %s; killed", filepath.Base(p.cmd.Path), grace)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
