package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// loginWithNext logs user in from /auth/login?next=<next> and returns the
// callback's Location.
func (e *env) loginWithNext(t *testing.T, next string) string {
	t.Helper()
	c := e.anon(t)
	resp := c.do("GET", "/auth/login?next="+url.QueryEscape(next), nil, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login with next=%q: %d %s", next, resp.StatusCode, body(resp))
	}
	authz := mustURL(t, resp.Header.Get("Location"))
	q := authz.Query()
	q.Set("sim_user", id(e.alice))
	authz.RawQuery = q.Encode()
	r2, err := c.hc.Get(authz.String())
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	cb := mustURL(t, r2.Header.Get("Location"))
	r3 := c.do("GET", cb.RequestURI(), nil, nil)
	if r3.StatusCode != http.StatusFound {
		t.Fatalf("callback with next=%q: %d %s", next, r3.StatusCode, body(r3))
	}
	return r3.Header.Get("Location")
}

// browserResolve resolves a Location header against base as a browser
// does for http(s) URLs: leading and trailing spaces and C0 controls
// trimmed, tabs and newlines removed, backslashes read as slashes.
func browserResolve(t *testing.T, base *url.URL, loc string) *url.URL {
	t.Helper()
	loc = strings.Trim(loc, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	ref, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q does not parse: %v", loc, err)
	}
	return base.ResolveReference(ref)
}

// TestNextResolvesOnDashboard: whatever next a login starts with, the
// browser lands on the dashboard itself after the callback's redirect, as
// the browser resolves the Location; ordinary paths survive.
func TestNextResolvesOnDashboard(t *testing.T) {
	e := newEnv(t, envOptions{})
	base := mustURL(t, e.srv.URL)
	for _, tt := range []struct {
		next string
		want string // the exact Location; "" for any on the dashboard
	}{
		{"/./\\evil.example/x", "/"},
		{"/./%5Cevil.example/x", "/"},
		{"/%5Cx", "/"},
		{"/%5cx", "/"},
		{"//x", "/"},
		{"/\\x", "/"},
		{"\\\\x", "/"},
		{"/\tx", "/"},
		{"/\t/x", "/"},
		{"/%09/x", "/"},
		{"/%0A/x", "/"},
		{"/\n/x", "/"},
		{"https:x", "/"},
		{"https:/x", "/"},
		{"http://evil", "/"},
		{"HTTP://evil", "/"},
		{"javascript:alert(1)", "/"},
		{"/%2F%2Fx", ""},
		{"/%2F/x", ""},
		{"/.//x", ""},
		{"/./x/../..//evil", ""},
		{"/x/../../evil.example", ""},
		{"/a/..//evil.example/", ""},
		{"/@evil.example", ""},
		{" //evil.example", "/"},
		{"", "/"},
		{"/profile?tab=vault", "/profile?tab=vault"},
		{"/admin/audit", "/admin/audit"},
		{"/transactions?page=2", "/transactions?page=2"},
		{"/admin/", "/admin/"},
	} {
		loc := e.loginWithNext(t, tt.next)
		got := browserResolve(t, base, loc)
		if got.Scheme != base.Scheme || got.Host != base.Host {
			t.Errorf("next=%q: Location %q takes the browser to %s", tt.next, loc, got)
		}
		if tt.want != "" && loc != tt.want {
			t.Errorf("next=%q: Location %q, want %q", tt.next, loc, tt.want)
		}
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t\r\n") {
			t.Errorf("next=%q: Location %q is not a plain local path", tt.next, loc)
		}
	}
}
