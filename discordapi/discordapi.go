// Package discordapi builds arikawa REST clients that talk to the Discord
// API at a configurable base URL. arikawa fixes its endpoints to
// https://discord.com when it starts, so requests are routed by an
// http.RoundTripper that rewrites the scheme and host; pointing the base at
// discordsim runs the bot against the emulator.
package discordapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/utils/httputil"
	"github.com/diamondburned/arikawa/v3/utils/httputil/httpdriver"
)

// DefaultBase is Discord's own API base.
const DefaultBase = "https://discord.com"

// ParseBase checks a DISCORD_API_URL value: an http or https URL with a
// host and no path beyond "/" or "/api".
func ParseBase(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL with a host", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/api")
	if u.Path != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("%q: give the base only, such as http://127.0.0.1:8081", s)
	}
	return u, nil
}

// Rewrite returns a RoundTripper that sends requests for discord.com to
// base instead, through next (http.DefaultTransport when nil).
func Rewrite(base *url.URL, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return rewriter{base: base, next: next}
}

type rewriter struct {
	base *url.URL
	next http.RoundTripper
}

func (rw rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "discord.com" && (rw.base.Host != "discord.com" || rw.base.Scheme != "https") {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = rw.base.Scheme, rw.base.Host
		req.Host = rw.base.Host
	}
	return rw.next.RoundTrip(req)
}

// NewClient returns an arikawa client for the bot token, sending its
// requests to base through rt (which may be nil). Embeds go without the
// null timestamp arikawa would send (see embedTimestamps).
func NewClient(token string, base *url.URL, rt http.RoundTripper) *api.Client {
	c := api.NewClient("Bot " + token)
	c.Client.Client = httpdriver.WrapClient(http.Client{Transport: embedTimestamps{Rewrite(base, rt)}, Timeout: 30 * time.Second})
	return c
}

// WithoutLocalLimits removes arikawa's own per-process rate limiter and 429
// retries from c, for use over a transport that limits cluster-wide (such
// as ratelimit/discordrest): limits and retries must not apply twice.
func WithoutLocalLimits(c *api.Client) *api.Client {
	token, agent := c.Session.Token, c.Session.UserAgent
	c.Client.OnRequest = []httputil.RequestOption{func(r httpdriver.Request) error {
		r.AddHeader(http.Header{"Authorization": {token}, "User-Agent": {agent}})
		return nil
	}}
	c.Client.OnResponse = nil
	c.Client.Retries = 1
	return c
}
