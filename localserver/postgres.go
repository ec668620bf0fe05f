package localserver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

const postgresInstall = "apt-get install -y postgresql"

// Postgres is a PostgreSQL server running from the local binaries with its
// data directory in a folder of the caller's.
type Postgres struct {
	dir  string
	port int
	proc *process
}

// postgresBinDir finds the directory holding initdb and postgres.
func postgresBinDir() (string, error) {
	if path, err := exec.LookPath("pg_config"); err == nil {
		out, err := exec.Command(path, "--bindir").Output()
		if err == nil {
			dir := string(bytes.TrimSpace(out))
			if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
				return dir, nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path), nil
	}
	return "", missing("postgres (initdb)", postgresInstall)
}

// credential returns the credential to run PostgreSQL with: PostgreSQL
// refuses to run as root, so as root it runs as the postgres system user.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres system user (%s): %w", postgresInstall, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// StartPostgres starts PostgreSQL with its data in dir (created and
// initialised when empty) on the loopback port (0 picks a free one). The
// server stops when ctx is cancelled, when Stop is called, or when the
// calling process dies.
func StartPostgres(ctx context.Context, dir string, port int) (*Postgres, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "pgdata")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("postgres dir: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("postgres dir: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
			"--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, bytes.TrimSpace(out))
		}
	}
	// A stale pid file from a killed server would stop the new one.
	_ = os.Remove(filepath.Join(data, "postmaster.pid"))
	return startOnPort(ctx, bin, data, dir, port, cred)
}

// startOnPort starts the server of data on port, or on a free port when
// port is 0, retrying when another process took the port first.
func startOnPort(ctx context.Context, bin, data, dir string, port int, cred *syscall.Credential) (*Postgres, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p := port
		if p == 0 {
			var err error
			if p, err = FreePort(); err != nil {
				return nil, err
			}
		}
		pg, err := startPostgres(ctx, bin, data, dir, p, cred)
		if err == nil {
			return pg, nil
		}
		lastErr = err
		if port != 0 {
			break
		}
	}
	return nil, lastErr
}

func startPostgres(ctx context.Context, bin, data, dir string, port int, cred *syscall.Credential) (*Postgres, error) {
	logFile, err := os.OpenFile(filepath.Join(dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("postgres log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-p", itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=128MB")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	proc, err := startProcess(cmd)
	if err != nil {
		return nil, err
	}
	pg := &Postgres{dir: dir, port: port, proc: proc}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pg.waitReady(waitCtx); err != nil {
		_ = proc.stop(syscall.SIGQUIT, 5*time.Second)
		return nil, fmt.Errorf("postgres on port %d: %w (log: %s)", port, err, filepath.Join(dir, "postgres.log"))
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = pg.Stop()
		case <-proc.exited:
		}
	}()
	return pg, nil
}

func (pg *Postgres) waitReady(ctx context.Context) error {
	if err := waitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", pg.port), pg.proc.exited); err != nil {
		return err
	}
	for {
		conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-pg.proc.exited:
			return fmt.Errorf("postgres exited: %v", pg.proc.err)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Port is the server's TCP port on 127.0.0.1.
func (pg *Postgres) Port() int { return pg.port }

// DSN is the connection URL of database db as the postgres superuser.
func (pg *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, db)
}

// CreateDatabase creates database name unless it exists.
func (pg *Postgres) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("check database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down fast (SIGINT: roll back open transactions, then exit).
func (pg *Postgres) Stop() error {
	return pg.proc.stop(syscall.SIGINT, 10*time.Second)
}
