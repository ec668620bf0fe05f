package localserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

const redisInstall = "apt-get install -y redis-server"

// Redis is a redis-server process on a loopback port.
type Redis struct {
	port int
	proc *process
}

// StartRedis starts redis-server on the loopback port (0 picks a free one)
// with its working directory in dir. With persist it keeps an append-only
// file there (the sandbox); without it nothing is written (tests).
func StartRedis(ctx context.Context, dir string, port int, persist bool) (*Redis, error) {
	return startRedis(ctx, dir, port, persist)
}

// startRedis is StartRedis with extra redis-server arguments, such as a
// cluster's or a replica's.
func startRedis(ctx context.Context, dir string, port int, persist bool, extra ...string) (*Redis, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, missing("redis-server", redisInstall)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("redis dir: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p := port
		if p == 0 {
			if p, err = FreePort(); err != nil {
				return nil, err
			}
		}
		args := []string{"--port", itoa(p), "--bind", "127.0.0.1", "--dir", dir,
			"--daemonize", "no", "--save", "", "--logfile", filepath.Join(dir, "redis.log"),
			"--protected-mode", "no"}
		if persist {
			args = append(args, "--appendonly", "yes")
		} else {
			args = append(args, "--appendonly", "no")
		}
		args = append(args, extra...)
		r, err := launchRedis(ctx, exec.Command(bin, args...), p)
		if err == nil {
			return r, nil
		}
		if errors.Is(err, errNotStarted) {
			return nil, err
		}
		lastErr = fmt.Errorf("redis on port %d: %w", p, err)
		if port != 0 {
			break
		}
	}
	return nil, lastErr
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.port) }

// Port is the server's TCP port on 127.0.0.1.
func (r *Redis) Port() int { return r.port }

// Stop shuts the server down (SIGTERM, which saves the append-only file when persisting).
func (r *Redis) Stop() error { return r.proc.stop(syscall.SIGTERM, 10*time.Second) }

// Kill stops the server at once, as a crash would; tests use it to cut Redis off.
func (r *Redis) Kill() error { return r.proc.stop(syscall.SIGKILL, time.Second) }

// Pid is the server's process ID; tests use it to freeze Redis (SIGSTOP).
func (r *Redis) Pid() int { return r.proc.cmd.Process.Pid }

// errNotStarted marks a server process that could not be started at all,
// as opposed to one that started and did not answer on its port.
var errNotStarted = errors.New("not started")

// launchRedis starts cmd (redis-server or redis-sentinel) on port, waits
// until it accepts connections, and stops it when ctx ends. A server that
// does not answer within 10 s is killed.
func launchRedis(ctx context.Context, cmd *exec.Cmd, port int) (*Redis, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	proc, err := startProcess(cmd)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotStarted, err)
	}
	r := &Redis{port: port, proc: proc}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = waitTCP(waitCtx, r.Addr(), proc.exited)
	cancel()
	if err != nil {
		_ = proc.stop(syscall.SIGKILL, time.Second)
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = r.Stop()
		case <-proc.exited:
		}
	}()
	return r, nil
}
