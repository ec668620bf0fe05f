package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/localserver"
)

// TestPlaygroundReshardControl: the playground's reshard control starts an
// online reshard, shows it, refuses bad counts (400) and a second one
// (409), and aborts it; nothing to abort is a 409.
func TestPlaygroundReshardControl(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	etcd, err := localserver.StartEtcd(ctx, t.TempDir(), 0)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { etcd.Stop(); cancel() })
	s := &Sandbox{}
	closeEtcd, err := s.reshard.connect(etcd.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeEtcd)
	if _, err := s.reshard.etcd.Put(t.Context(), "/chopsticks/config/units", `{"shard_count":2}`); err != nil {
		t.Fatal(err)
	}
	h := s.playground()
	steps := []struct {
		name, method, path, body string
		wantCode                 int
		wantTo                   int // the reshard shown afterwards, 0 for none
	}{
		{"state", "GET", "/api/reshard", "", 200, 0},
		{"zero", "POST", "/api/reshard", `{"shards":0}`, 400, 0},
		{"not a number", "POST", "/api/reshard", `{"shards":"many"}`, 400, 0},
		{"unknown field", "POST", "/api/reshard", `{"count":3}`, 400, 0},
		{"same count", "POST", "/api/reshard", `{"shards":2}`, 400, 0},
		{"nothing to abort", "POST", "/api/reshard/abort", `{}`, 409, 0},
		{"start", "POST", "/api/reshard", `{"shards":3}`, 200, 3},
		{"a second one", "POST", "/api/reshard", `{"shards":4}`, 409, 3},
		{"abort", "POST", "/api/reshard/abort", `{}`, 200, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(st.method, st.path, strings.NewReader(st.body)))
			if rec.Code != st.wantCode {
				t.Fatalf("%s %s: %d %s, want %d", st.method, st.path, rec.Code, rec.Body, st.wantCode)
			}
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/reshard", nil))
			var v reshardView
			if err := json.NewDecoder(rec.Body).Decode(&v); err != nil || v.ShardCount != 2 {
				t.Fatalf("state: %+v %v, want 2 shards", v, err)
			}
			if to := 0; v.Reshard != nil {
				to = v.Reshard.To
				if to != st.wantTo {
					t.Fatalf("reshard to %d, want %d", to, st.wantTo)
				}
			} else if st.wantTo != 0 {
				t.Fatalf("no reshard shown, want one to %d", st.wantTo)
			}
		})
	}
}
