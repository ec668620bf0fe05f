package discordrest

import (
	"strings"
)

// route is what Discord's rate limits key on for one request.
type route struct {
	key    string // method and path with IDs replaced: "POST /channels/:major/messages"
	major  string // the top-level resource: "channels/123", "guilds/9", "webhooks/7/tok", or ""
	exempt bool   // interaction endpoints (the callback and the token webhooks) are not bound by the global limit
}

// classify maps a request path (with or without the /api/vN prefix) to its
// route. Top-level resources (channels, guilds, webhooks with their token)
// stay in the major parameter; every other ID-like segment becomes ":id".
func classify(method, path string) route {
	p := strings.TrimPrefix(path, "/api")
	if strings.HasPrefix(p, "/v") {
		if i := strings.IndexByte(p[1:], '/'); i > 0 && allDigits(p[2:1+i]) {
			p = p[1+i:]
		}
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	r := route{}
	if len(segs) > 0 && segs[0] == "interactions" {
		r.exempt = true
	}
	out := make([]string, 0, len(segs))
	for i := 0; i < len(segs); i++ {
		s := segs[i]
		switch {
		case i == 1 && (segs[0] == "channels" || segs[0] == "guilds") && allDigits(s):
			r.major = segs[0] + "/" + s
			out = append(out, ":major")
		case i == 1 && segs[0] == "webhooks" && allDigits(s):
			r.major = "webhooks/" + s
			out = append(out, ":major")
			if i+1 < len(segs) && !allDigits(segs[i+1]) && segs[i+1] != "messages" {
				r.major += "/" + segs[i+1]
				out = append(out, ":token")
				i++
				// A token's webhook: an interaction's (the original
				// response, follow-ups), which Discord exempts from the
				// global limit like the callback, or one executed by its
				// own token, which the bot's global limit does not count.
				r.exempt = true
			}
		case i == 1 && segs[0] == "interactions" && allDigits(s):
			r.major = "interactions/" + s // each interaction has its own limits
			out = append(out, ":major")
		case i == 2 && segs[0] == "interactions":
			out = append(out, ":token") // the interaction token
		case i > 0 && segs[i-1] == "reactions" && s != "@me":
			out = append(out, ":emoji")
		case allDigits(s):
			out = append(out, ":id")
		default:
			out = append(out, s)
		}
	}
	r.key = method + " /" + strings.Join(out, "/")
	return r
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
