package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"
)

// debugServer serves Go's profiler (/debug/pprof/) on DEBUG_ADDR, apart
// from HTTP_ADDR's dashboard: it has no login, so it listens only where
// the operator says, and nowhere by default.
type debugServer struct {
	srv  *http.Server
	ln   net.Listener
	done sync.WaitGroup
}

// startDebugServer listens on addr and serves the profiler until stop.
func startDebugServer(addr string, log *slog.Logger) (*debugServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	d := &debugServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	d.done.Go(func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug server stopped", "err", err)
		}
	})
	log.Info("profiler listening", "addr", ln.Addr().String())
	return d, nil
}

// stop ends the server; a profile being taken is cut short.
func (d *debugServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		_ = d.srv.Close()
	}
	d.done.Wait()
}
