package localserver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// StartReplica starts a streaming replica of primary with its data in dir:
// pg_basebackup -R copies the primary and writes primary_conninfo and
// standby.signal, and the copy then runs as a hot standby on its own
// loopback port (0 picks a free one). It stops like a server of
// StartPostgres.
func StartReplica(ctx context.Context, primary *Postgres, dir string, port int) (*Postgres, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("replica dir: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("replica dir: %w", err)
		}
	}
	data := filepath.Join(dir, "pgdata")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_basebackup"), "-D", data, "-R", "-X", "stream",
			"-c", "fast", "--no-sync", "-h", "127.0.0.1", "-p", itoa(primary.Port()), "-U", "postgres")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("pg_basebackup: %w: %s", err, bytes.TrimSpace(out))
		}
	}
	_ = os.Remove(filepath.Join(data, "postmaster.pid"))
	return startOnPort(ctx, bin, data, dir, port, cred)
}
