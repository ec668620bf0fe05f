package localserver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
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
	sec  RedisSecurity
	proc *process
}

// RedisSecurity is what a Redis set-up demands of its clients and of its
// own servers' links (replication, the cluster bus, sentinels). The zero
// value demands nothing.
type RedisSecurity struct {
	// TLS, when set, makes every port speak TLS only, with TLS.CertFile;
	// clients need not present a certificate.
	TLS *TestCA
	// User and Password, when User is set, turn the default user off and
	// admit only this ACL user, with every permission.
	User, Password string
}

// serverArgs are redis-server's arguments for port under s.
func (s RedisSecurity) serverArgs(port int) []string {
	var a []string
	if s.TLS != nil {
		a = append(a, "--port", "0", "--tls-port", itoa(port),
			"--tls-cert-file", s.TLS.CertFile, "--tls-key-file", s.TLS.KeyFile, "--tls-ca-cert-file", s.TLS.CAFile,
			"--tls-auth-clients", "no", "--tls-replication", "yes")
	} else {
		a = append(a, "--port", itoa(port))
	}
	if s.User != "" {
		// redis-server quotes each argument: one word per argument.
		a = append(a, "--user", "default", "off", "--user", s.User, "on", ">"+s.Password, "~*", "&*", "+@all",
			"--masteruser", s.User, "--masterauth", s.Password)
	}
	return a
}

// cliArgs are redis-cli's arguments to reach a server under s.
func (s RedisSecurity) cliArgs() []string {
	var a []string
	if s.TLS != nil {
		a = append(a, "--tls", "--cacert", s.TLS.CAFile)
	}
	if s.User != "" {
		a = append(a, "--user", s.User, "--pass", s.Password, "--no-auth-warning")
	}
	return a
}

// urlPrefix is a REDIS_URL's scheme (base plus topology) and user info.
func (s RedisSecurity) urlPrefix(topology string) string {
	scheme := "redis"
	if s.TLS != nil {
		scheme = "rediss"
	}
	if topology != "" {
		scheme += "-" + topology
	}
	prefix := scheme + "://"
	if s.User != "" {
		prefix += url.UserPassword(s.User, s.Password).String() + "@"
	}
	return prefix
}

// StartRedis starts redis-server on the loopback port (0 picks a free one)
// with its working directory in dir. With persist it keeps an append-only
// file there (the sandbox); without it nothing is written (tests).
func StartRedis(ctx context.Context, dir string, port int, persist bool) (*Redis, error) {
	return startRedis(ctx, dir, port, persist, RedisSecurity{})
}

// StartSecureRedis is StartRedis on a free port, without persistence, for
// clients that meet sec.
func StartSecureRedis(ctx context.Context, dir string, sec RedisSecurity) (*Redis, error) {
	return startRedis(ctx, dir, 0, false, sec)
}

// startRedis is StartRedis under sec with extra redis-server arguments,
// such as a cluster's or a replica's.
func startRedis(ctx context.Context, dir string, port int, persist bool, sec RedisSecurity, extra ...string) (*Redis, error) {
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
		args := append(sec.serverArgs(p), "--bind", "127.0.0.1", "--dir", dir,
			"--daemonize", "no", "--save", "", "--logfile", filepath.Join(dir, "redis.log"),
			"--protected-mode", "no")
		if persist {
			args = append(args, "--appendonly", "yes")
		} else {
			args = append(args, "--appendonly", "no")
		}
		args = append(args, extra...)
		r, err := launchRedis(ctx, exec.Command(bin, args...), p, sec)
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

// URL is the server's REDIS_URL for database db, with its scheme and
// credentials.
func (r *Redis) URL(db int) string { return r.sec.urlPrefix("") + r.Addr() + "/" + itoa(db) }

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
func launchRedis(ctx context.Context, cmd *exec.Cmd, port int, sec RedisSecurity) (*Redis, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	proc, err := startProcess(cmd)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotStarted, err)
	}
	r := &Redis{port: port, sec: sec, proc: proc}
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
