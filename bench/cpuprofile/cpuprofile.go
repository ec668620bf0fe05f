// Package cpuprofile writes a benchmark program's CPU profile of its
// measured phase, for the -cpuprofile flag the bench programs share.
package cpuprofile

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// Start profiles this process's CPU into the file at path until the
// returned stop is called; an empty path profiles nothing.
func Start(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
