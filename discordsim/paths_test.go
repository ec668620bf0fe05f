package discordsim

import "testing"

// TestMalformedPathsAreNotFound: Discord defines no route with an empty or
// dot segment, so such a path is a 404 like any unknown route, never a
// redirect to the path the client perhaps meant (which hid arikawa's
// "/api/v9//oauth2/applications/@me").
func TestMalformedPathsAreNotFound(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	base := s.URL()
	tests := []struct {
		path string
		want int
	}{
		{"/api/v9/applications/@me", 200},
		{"/api/v9/oauth2/applications/@me", 200},
		{"/api/v9//oauth2/applications/@me", 404},
		{"/api/v10//applications/@me", 404},
		{"//api/v10/applications/@me", 404},
		{"/api/v10/./applications/@me", 404},
		{"/api/v10/users/../applications/@me", 404},
		{"/api/v10/applications//@me", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var e apiErr
			var out any = &e
			if tt.want == 200 {
				out = nil
			}
			// do follows redirects, as arikawa's client does: a redirect
			// to the clean path would answer 200 here.
			r := do(t, "GET", base+tt.path, bot, nil, out)
			if r.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", r.StatusCode, tt.want)
			}
			if tt.want == 404 && (e.Message != "404: Not Found" || e.Code != 0) {
				t.Errorf("body %+v, want Discord's 404 {code 0, \"404: Not Found\"}", e)
			}
		})
	}
}
