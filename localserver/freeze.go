package localserver

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// signalGroup sends sig to every process of the server: each starter runs
// the server in a process group of its own, and PostgreSQL's backends are
// its children, so a stop reaches them all.
func (p *process) signalGroup(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return fmt.Errorf("signal %v: the server has exited", sig)
	default:
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// Freeze stops every process of the server (SIGSTOP): its sockets stay open
// and it answers nothing, as a hung server does. Tests use it to check that
// clients give up on their own deadlines. Thaw resumes it.
func (r *Redis) Freeze() error { return r.proc.signalGroup(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (r *Redis) Thaw() error { return r.proc.signalGroup(syscall.SIGCONT) }

// Freeze stops the postmaster and every backend (SIGSTOP); see Redis.Freeze.
// Backends put themselves in sessions of their own (setsid), so they are
// found as the postmaster's children; the postmaster is stopped first, so
// that it forks no new one meanwhile.
func (pg *Postgres) Freeze() error { return pg.proc.signalTree(syscall.SIGSTOP) }

// Thaw resumes a frozen server (SIGCONT).
func (pg *Postgres) Thaw() error { return pg.proc.signalTree(syscall.SIGCONT) }

// signalTree sends sig to the process and then to each of its children.
func (p *process) signalTree(sig syscall.Signal) error {
	if err := p.signalGroup(sig); err != nil {
		return err
	}
	kids, err := children(p.cmd.Process.Pid)
	if err != nil {
		return err
	}
	for _, pid := range kids {
		// A child may have exited since it was listed.
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal %v to %d: %w", sig, pid, err)
		}
	}
	return nil
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []int
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// The command name, in parentheses, may hold spaces: the fields
		// after its closing parenthesis are state, then the parent's pid.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out, nil
}

// Freeze stops member i (SIGSTOP): its sockets stay open and it answers
// neither its clients nor its peers, as a hung member does. Thaw resumes it.
func (c *EtcdCluster) Freeze(i int) error { return c.proc(i).signal(syscall.SIGSTOP) }

// Thaw resumes a frozen member (SIGCONT).
func (c *EtcdCluster) Thaw(i int) error { return c.proc(i).signal(syscall.SIGCONT) }

// signal sends sig to the process alone (an etcd member is one process).
func (p *process) signal(sig syscall.Signal) error {
	select {
	case <-p.exited:
		return fmt.Errorf("signal %v: the server has exited", sig)
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}
