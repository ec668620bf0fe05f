package lavalink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// APIError is an error response of a Lavalink node.
type APIError struct {
	Node    string
	Status  int
	Message string
	Path    string
}

// Error describes the failed call and Lavalink's message.
func (e *APIError) Error() string {
	return fmt.Sprintf("lavalink %s: %d %s (%s)", e.Node, e.Status, e.Message, e.Path)
}

// lenientAnswer is an answer decoded as far as it can be: a 2xx answer it
// cannot read at all still means the server accepted the call.
type lenientAnswer interface{ decodeLenient(raw []byte) }

// do makes a REST call; body is JSON-encoded, out decoded from a 2xx answer.
func (n *Node) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("lavalink %s: encoding request: %w", n.cfg.Name, err)
		}
		rd = bytes.NewReader(b)
	}
	timeout := n.c.cfg.RequestTimeout
	if method == http.MethodPatch && strings.Contains(path, "/players/") {
		timeout = n.c.cfg.PlayerTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, n.cfg.httpBase()+path, rd)
	if err != nil {
		return fmt.Errorf("lavalink %s: %w", n.cfg.Name, err)
	}
	req.Header.Set("Authorization", n.cfg.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := n.c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("lavalink %s: %s %s: %w", n.cfg.Name, method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("lavalink %s: reading response: %w", n.cfg.Name, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Node: n.cfg.Name, Status: resp.StatusCode, Path: req.URL.Path}
		var body struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &body) == nil && body.Message != "" {
			e.Message = body.Message
		} else {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if l, ok := out.(lenientAnswer); ok {
		l.decodeLenient(raw)
		return nil
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("lavalink %s: decoding %s: %w", n.cfg.Name, req.URL.Path, err)
		}
	}
	return nil
}
