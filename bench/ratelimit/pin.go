package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sys/unix"
)

// pinApart gives Redis's main thread a CPU of its own and this process's
// threads the others, as when Redis runs on its own machine. INFO
// commandstats counts a command's wall-clock time, so a script that the
// bench's callers preempt is charged for the time it waited, and a long
// script (a batch) is preempted more often than a short one; sharing a core
// also costs Redis its caches. Pinning takes that noise out for both
// libraries alike. It needs a local Redis (its pid from INFO server) and at
// least two CPUs; otherwise it says why it did not pin.
func pinApart(ctx context.Context, admin *redis.Client) (string, error) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return "", fmt.Errorf("pin: own CPUs: %w", err)
	}
	var cpus []int
	for c := 0; c < len(allowed)*64; c++ {
		if allowed.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return "not pinned: one CPU", nil
	}
	info, err := admin.Info(ctx, "server").Result()
	if err != nil {
		return "", fmt.Errorf("pin: INFO server: %w", err)
	}
	pid := 0
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	if pid == 0 {
		return "not pinned: INFO server has no process_id", nil
	}
	redisCPU, own := cpus[len(cpus)-1], cpus[:len(cpus)-1]
	var rs unix.CPUSet
	rs.Set(redisCPU)
	// The pid is the main thread's id: Redis's background threads keep
	// every CPU.
	if err := unix.SchedSetaffinity(pid, &rs); err != nil {
		return fmt.Sprintf("not pinned: Redis (pid %d) is not ours to pin: %v", pid, err), nil
	}
	var bs unix.CPUSet
	for _, c := range own {
		bs.Set(c)
	}
	// Threads inherit their creator's CPUs, so pinning every thread now
	// pins the ones the runtime starts later.
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return "", fmt.Errorf("pin: own threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &bs); err != nil && err != unix.ESRCH {
			return "", fmt.Errorf("pin: thread %d: %w", tid, err)
		}
	}
	runtime.GOMAXPROCS(len(own))
	return fmt.Sprintf("Redis's main thread pinned to CPU %d, the bench to CPU %v", redisCPU, own), nil
}
