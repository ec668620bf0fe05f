package discordsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fastConfig returns a Config with short windows so tests run quickly.
func fastConfig() Config {
	return Config{
		Guilds:              8,
		RecommendedShards:   2,
		IdentifyWindow:      300 * time.Millisecond,
		HeartbeatInterval:   time.Second,
		ResumeWindow:        3 * time.Second,
		InteractionDeadline: 700 * time.Millisecond,
		RouteRateLimit:      1000,
		GlobalRateLimit:     1000,
	}
}

func startSim(t *testing.T, cfg Config) *Sim {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = s.Close()
	})
	return s
}

// wsClient is a raw gateway client for protocol tests.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

type frame struct {
	Op int             `json:"op"`
	T  string          `json:"t"`
	S  *int64          `json:"s"`
	D  json.RawMessage `json:"d"`
}

func dialGW(t *testing.T, s *Sim, query string) *wsClient {
	t.Helper()
	if query == "" {
		query = "?v=10&encoding=json"
	}
	conn, _, err := websocket.DefaultDialer.Dial(s.GatewayURL()+"/"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next frame, or the close error.
func (c *wsClient) read(timeout time.Duration) (frame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	var f frame
	_, b, err := c.conn.ReadMessage()
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("bad frame %s: %v", b, err)
	}
	return f, nil
}

func (c *wsClient) mustRead() frame {
	c.t.Helper()
	f, err := c.read(3 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// until reads frames until pred matches, failing on timeout or close.
func (c *wsClient) until(pred func(frame) bool) frame {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for frame: %v", err)
		}
		if pred(f) {
			return f
		}
	}
	c.t.Fatal("timeout waiting for frame")
	return frame{}
}

// closeCode reads until the server closes and returns the close code.
func (c *wsClient) closeCode() int {
	c.t.Helper()
	for {
		_, err := c.read(5 * time.Second)
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		c.t.Fatalf("expected a close frame, got %v", err)
	}
}

func (c *wsClient) hello() {
	c.t.Helper()
	f := c.mustRead()
	if f.Op != OpHello {
		c.t.Fatalf("first frame op %d, want 10", f.Op)
	}
}

func identifyPayload(token string, shard, count int, intents uint64) map[string]any {
	return map[string]any{"op": 2, "d": map[string]any{
		"token": token, "intents": intents, "shard": []int{shard, count},
		"properties": map[string]string{"os": "linux", "browser": "test", "device": "test"},
	}}
}

// identify connects shard and waits for READY; it returns the client and the session ID.
func identify(t *testing.T, s *Sim, shard, count int, intents uint64) (*wsClient, string, string) {
	t.Helper()
	c := dialGW(t, s, "")
	c.hello()
	c.send(identifyPayload(s.Token(), shard, count, intents))
	f := c.until(func(f frame) bool { return f.T == "READY" || f.Op == OpInvalidSession })
	if f.Op == OpInvalidSession {
		t.Fatalf("identify shard %d: op 9", shard)
	}
	var ready struct {
		SessionID string `json:"session_id"`
		Resume    string `json:"resume_gateway_url"`
	}
	_ = json.Unmarshal(f.D, &ready)
	return c, ready.SessionID, ready.Resume
}

func within(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	tk := time.NewTicker(5 * time.Millisecond)
	defer tk.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met in time")
		case <-tk.C:
		}
	}
}

// do sends a REST request and decodes the JSON answer into out (if not nil).
func do(t *testing.T, method, url, auth string, body any, out any) *http.Response {
	t.Helper()
	return doHeader(t, method, url, auth, nil, body, out)
}

// doHeader is do with more request headers.
func doHeader(t *testing.T, method, url, auth string, header http.Header, body any, out any) *http.Response {
	t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, url, rd)
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("User-Agent", "DiscordBot (https://example.invalid/discordsim-test, 1)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp
}

// formErrorAt fails t unless r answered 2xx (path "") or 400 with code 50035
// and an errors tree holding _errors at path (keys joined by dots). It
// returns the code of the first error there ("" for a 2xx).
func formErrorAt(t *testing.T, r *http.Response, e apiErr, path string) string {
	t.Helper()
	if path == "" {
		if r.StatusCode/100 != 2 {
			t.Fatalf("got %d %+v, want 2xx", r.StatusCode, e)
		}
		return ""
	}
	if r.StatusCode != 400 || e.Code != 50035 {
		t.Fatalf("got %d %+v, want 400 code 50035 at %s", r.StatusCode, e, path)
	}
	var tree any
	if err := json.Unmarshal(e.Errors, &tree); err != nil {
		t.Fatal(err)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := tree.(map[string]any)
		if !ok || m[k] == nil {
			t.Fatalf("errors %s: no %s on the path %s", e.Errors, k, path)
		}
		tree = m[k]
	}
	var leaf struct {
		Errors []struct{ Code string } `json:"_errors"`
	}
	b, _ := json.Marshal(tree)
	if json.Unmarshal(b, &leaf) != nil || len(leaf.Errors) == 0 {
		t.Fatalf("errors %s: nothing at %s", e.Errors, path)
	}
	return leaf.Errors[0].Code
}

// with returns a copy of base with the keys and values kv (key, value, ...) set.
func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
