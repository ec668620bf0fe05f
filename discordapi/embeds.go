package discordapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// embedTimestamps removes "timestamp": null from the embeds of JSON request
// bodies. arikawa's discord.Timestamp marshals its zero value as null, but
// Discord's Embed Structure makes timestamp optional, not nullable, and
// Discord may refuse the null; an embed without a time must leave the field
// out. The embeds are those of a message (top-level "embeds") and those of
// an interaction response ("data.embeds"); other bytes pass unchanged.
type embedTimestamps struct{ next http.RoundTripper }

func (t embedTimestamps) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || !strings.HasPrefix(req.Header.Get("Content-Type"), "application/json") {
		return t.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	if fixed, ok := omitNullEmbedTimestamps(body); ok {
		body = fixed
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.next.RoundTrip(out)
}

// omitNullEmbedTimestamps returns body without null embed timestamps, and
// whether it changed anything.
func omitNullEmbedTimestamps(body []byte) ([]byte, bool) {
	if !bytes.Contains(body, []byte(`"timestamp":null`)) {
		return body, false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return body, false
	}
	changed := omitIn(top)
	if raw, ok := top["data"]; ok {
		var data map[string]json.RawMessage
		if json.Unmarshal(raw, &data) == nil && omitIn(data) {
			if top["data"], _ = json.Marshal(data); top["data"] != nil {
				changed = true
			}
		}
	}
	if !changed {
		return body, false
	}
	out, err := json.Marshal(top)
	if err != nil {
		return body, false
	}
	return out, true
}

// omitIn removes null timestamps from m["embeds"], reporting a change.
func omitIn(m map[string]json.RawMessage) bool {
	var embeds []map[string]json.RawMessage
	if json.Unmarshal(m["embeds"], &embeds) != nil {
		return false
	}
	changed := false
	for _, e := range embeds {
		if string(e["timestamp"]) == "null" {
			delete(e, "timestamp")
			changed = true
		}
	}
	if !changed {
		return false
	}
	raw, err := json.Marshal(embeds)
	if err != nil {
		return false
	}
	m["embeds"] = raw
	return true
}
