package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

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

// cpuMeter reads the CPU time used so far by this process and by the
// server's processes.
type cpuMeter struct {
	pool *pgxpool.Pool
	pids []int
}

// newCPUMeter lists the server's processes; ok is false when their CPU
// times cannot be read (a remote server, or no /proc).
func newCPUMeter(ctx context.Context, pool *pgxpool.Pool) (m *cpuMeter, ok bool) {
	rows, err := pool.Query(ctx, `SELECT pid FROM pg_stat_activity`)
	if err != nil {
		return nil, false
	}
	defer rows.Close()
	m = &cpuMeter{pool: pool}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			return nil, false
		}
		m.pids = append(m.pids, pid)
	}
	if rows.Err() != nil || len(m.pids) == 0 {
		return nil, false
	}
	if _, err := procCPU(m.pids[0]); err != nil {
		return nil, false
	}
	return m, true
}

// used returns the CPU time used so far.
func (m *cpuMeter) used() time.Duration {
	var ru syscall.Rusage
	var total time.Duration
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for _, pid := range m.pids {
		if d, err := procCPU(pid); err == nil {
			total += d
		}
	}
	return total
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
