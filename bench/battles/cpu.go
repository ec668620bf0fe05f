package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// On a machine shared with other work, throughput in one phase and the
// next sees different loads. The CPU time both sides spend (this process
// and every process of the PostgreSQL server) per operation does not
// depend on the load, so the bench also prints it and the throughput ratio
// it implies for a machine the benchmark has to itself.

// clockTicks is the unit of /proc/<pid>/stat's CPU times (USER_HZ), 100
// on every Linux platform Go supports.
const clockTicks = 100

// cpuMeter reads the CPU time used by this process and by the server's
// processes.
type cpuMeter struct {
	pool *pgxpool.Pool
}

// cpuMark is the CPU time used up to a moment: this process's, and each
// server process's then.
type cpuMark struct {
	self  time.Duration
	procs map[int]time.Duration
}

// newCPUMeter returns a meter; ok is false when the server's CPU times
// cannot be read (a remote server, or no /proc).
func newCPUMeter(ctx context.Context, pool *pgxpool.Pool) (m *cpuMeter, ok bool) {
	m = &cpuMeter{pool: pool}
	if _, err := m.mark(ctx); err != nil {
		return nil, false
	}
	return m, true
}

// mark lists the server's processes now (a pool replaces a connection
// whose query was cancelled, so the list is taken again for each phase)
// and reads their CPU times and this process's.
func (m *cpuMeter) mark(ctx context.Context) (cpuMark, error) {
	rows, err := m.pool.Query(ctx, `SELECT pid FROM pg_stat_activity`)
	if err != nil {
		return cpuMark{}, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return cpuMark{}, err
	}
	c := cpuMark{self: selfCPU(), procs: make(map[int]time.Duration, len(pids))}
	for _, pid := range pids {
		d, err := procCPU(pid)
		if err != nil {
			return cpuMark{}, err
		}
		c.procs[pid] = d
	}
	return c, nil
}

// since returns the CPU time used since a by this process and the server
// processes a lists. A server process that exited meanwhile took its
// time with it, so it is an error rather than a low figure.
func (m *cpuMeter) since(a cpuMark) (time.Duration, error) {
	total := selfCPU() - a.self
	for pid, d0 := range a.procs {
		d, err := procCPU(pid)
		if err != nil {
			return 0, fmt.Errorf("server process %d exited during the phase: %w", pid, err)
		}
		total += d - d0
	}
	return total, nil
}

// selfCPU is the CPU time this process has used, all threads.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the CPU time of process pid (single-threaded, as
// PostgreSQL's are): from schedstat in nanoseconds where the kernel keeps
// it, else from stat in clock ticks, whose rounding over the server's
// processes blurs a phase of a second.
func procCPU(pid int) (time.Duration, error) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid)); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				return time.Duration(ns), nil
			}
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name (which may hold spaces) start at
	// the state, field 3; utime and stime are fields 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}
