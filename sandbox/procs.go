package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// nodeProc is one node process the sandbox runs and can stop and start.
type nodeProc struct {
	ID        string
	HTTPAddr  string
	DebugAddr string // the profiler's, with Config.Profiler
	env       []string
	bin       string
	logPath   string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// NodeInfo is a node as the playground shows it.
type NodeInfo struct {
	ID       string          `json:"id"`
	HTTPAddr string          `json:"http_addr"`
	Running  bool            `json:"running"`
	PID      int             `json:"pid,omitempty"`
	Status   json.RawMessage `json:"status,omitempty"`
}

func (p *nodeProc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("node %s is already running", p.ID)
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, "node")
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start node %s: %w", p.ID, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited = cmd, exited
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		if p.cmd == cmd {
			p.cmd = nil
		}
		p.mu.Unlock()
		close(exited)
	}()
	return nil
}

// stop sends sig (SIGTERM drains, SIGKILL crashes) and waits for the exit.
func (p *nodeProc) stop(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return fmt.Errorf("node %s is not running", p.ID)
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-exited:
		return nil
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("node %s did not stop within %s; killed", p.ID, wait)
	}
}

func (p *nodeProc) info(ctx context.Context) NodeInfo {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	ni := NodeInfo{ID: p.ID, HTTPAddr: p.HTTPAddr, Running: cmd != nil}
	if cmd == nil {
		return ni
	}
	ni.PID = cmd.Process.Pid
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.HTTPAddr+"/status", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		var raw json.RawMessage
		if json.NewDecoder(resp.Body).Decode(&raw) == nil {
			ni.Status = raw
		}
		resp.Body.Close()
	}
	return ni
}

// nodes is the sandbox's set of node processes.
type nodes struct {
	mu    sync.Mutex
	procs map[string]*nodeProc
}

func (ns *nodes) list() []*nodeProc {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	out := make([]*nodeProc, 0, len(ns.procs))
	for _, p := range ns.procs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (ns *nodes) get(id string) (*nodeProc, bool) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	p, ok := ns.procs[id]
	return p, ok
}

// stopAll drains every running node in parallel.
func (ns *nodes) stopAll() {
	var wg sync.WaitGroup
	for _, p := range ns.list() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.stop(syscall.SIGTERM, 40*time.Second)
		}()
	}
	wg.Wait()
}

func logPath(dir, id string) string { return filepath.Join(dir, "logs", id+".log") }
