// Package redisinfo reads Redis's own accounting (INFO) for the benchmarks
// that compare what different clients cost Redis.
package redisinfo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ScriptMicroseconds returns the µs Redis has spent running scripts (EVAL,
// EVALSHA, FCALL) since CONFIG RESETSTAT, from INFO commandstats. The
// commands a script calls are part of its time.
func ScriptMicroseconds(ctx context.Context, c redis.Cmdable) (float64, error) {
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "cmdstat_evalsha" && name != "cmdstat_eval" && name != "cmdstat_fcall") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "usec="); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					return 0, fmt.Errorf("redisinfo: commandstats line %q: %w", line, err)
				}
				total += f
			}
		}
	}
	return total, nil
}

// CPUSeconds returns the Redis process's user and system CPU seconds since
// it started, from INFO cpu.
func CPUSeconds(ctx context.Context, c redis.Cmdable) (float64, error) {
	info, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		name, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (name == "used_cpu_sys" || name == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("redisinfo: cpu line %q: %w", line, err)
			}
			total += f
		}
	}
	return total, nil
}

// CommandsProcessed returns how many commands Redis has run since it
// started (INFO stats total_commands_processed); a script counts once, with
// the commands it calls.
func CommandsProcessed(ctx context.Context, c redis.Cmdable) (int64, error) {
	info, err := c.Info(ctx, "stats").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("redisinfo: stats line %q: %w", line, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("redisinfo: no total_commands_processed in INFO stats")
}
