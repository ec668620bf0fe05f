package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// fetchProfiles takes a CPU profile of d from every node's profiler at
// once, then a heap profile, and writes them into dir as
// <node>-cpu.pprof and <node>-heap.pprof. It returns the files written.
func fetchProfiles(ctx context.Context, addrs map[string]string, d time.Duration, dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	secs := max(1, int(d/time.Second))
	var (
		mu    sync.Mutex
		files []string
		errs  []error
		wg    sync.WaitGroup
	)
	for id, addr := range addrs {
		wg.Go(func() {
			for _, p := range []struct{ kind, path string }{
				{"cpu", fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs)},
				{"heap", "/debug/pprof/heap"},
			} {
				file := filepath.Join(dir, id+"-"+p.kind+".pprof")
				err := fetch(ctx, "http://"+addr+p.path, file)
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s %s profile: %w", id, p.kind, err))
				} else {
					files = append(files, file)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return files, errors.Join(errs...)
}

// fetch writes the body of a GET of url to file.
func fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
