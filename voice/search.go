package voice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/lavalink"
)

// DefaultSearch is the MUSIC_SEARCH default: YouTube first, then SoundCloud.
const DefaultSearch = "ytsearch,scsearch"

// ErrBadSearch is wrapped by every ParseSearch error.
var ErrBadSearch = errors.New("invalid MUSIC_SEARCH")

// ParseSearch parses MUSIC_SEARCH: comma-separated Lavalink search prefixes
// (ytsearch, ytmsearch, scsearch, and those of plugins such as LavaSrc's
// spsearch, amsearch, dzsearch), tried in order for plain search terms. A
// trailing colon is allowed; at most 8 prefixes, none twice. An empty value
// is DefaultSearch.
func ParseSearch(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultSearch
	}
	var out []string
	seen := map[string]bool{}
	for i, part := range strings.Split(s, ",") {
		p := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(part)), ":")
		if p == "" {
			return nil, fmt.Errorf("%w: entry %d is empty (want e.g. %s)", ErrBadSearch, i+1, DefaultSearch)
		}
		if len(p) > 32 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyz0123456789") != "" || p[0] < 'a' {
			return nil, fmt.Errorf("%w: %q is not a search prefix (letters and digits, such as ytsearch or scsearch)", ErrBadSearch, part)
		}
		if seen[p] {
			return nil, fmt.Errorf("%w: %q given twice", ErrBadSearch, p)
		}
		seen[p] = true
		out = append(out, p)
	}
	if len(out) > 8 {
		return nil, fmt.Errorf("%w: %d prefixes, at most 8", ErrBadSearch, len(out))
	}
	return out, nil
}

// DefaultSearchCacheTTL is how long a search's results are reused.
const DefaultSearchCacheTTL = 10 * time.Minute

// searchCache keeps search results in Redis, so that the same search (same
// normalised terms and prefix) within the TTL costs no Lavalink call.
// Keys hold a hash of the terms, never the terms themselves.
type searchCache struct {
	rdb     redis.UniversalClient
	ttl     time.Duration
	lookups *prometheus.CounterVec // by result: hit or miss
}

func newSearchCache(rdb redis.UniversalClient, ttl time.Duration) *searchCache {
	c := &searchCache{rdb: rdb, ttl: ttl, lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chopsticks_music_search_cache_lookups_total",
		Help: "Searches answered from the Redis search cache (hit) or sent to Lavalink (miss).",
	}, []string{"result"})}
	for _, r := range []string{"hit", "miss"} {
		c.lookups.WithLabelValues(r) // exported at 0 from the start
	}
	return c
}

// normalSearch is the form of search terms the cache compares: lower case,
// single spaces.
func normalSearch(terms string) string {
	return strings.Join(strings.Fields(strings.ToLower(terms)), " ")
}

func searchKey(prefix, terms string) string {
	sum := sha256.Sum256([]byte(prefix + "\x00" + normalSearch(terms)))
	return "chopsticks:music:search:" + prefix + ":" + hex.EncodeToString(sum[:16])
}

// cachedSearch is a search result as stored.
type cachedSearch struct {
	Type   lavalink.LoadType `json:"type"`
	Tracks []lavalink.Track  `json:"tracks,omitempty"`
}

// get returns the stored result of the search, if any. A Redis failure is
// a miss.
func (c *searchCache) get(ctx context.Context, prefix, terms string) (lavalink.LoadResult, bool) {
	raw, err := c.rdb.Get(ctx, searchKey(prefix, terms)).Bytes()
	var cs cachedSearch
	if err != nil || json.Unmarshal(raw, &cs) != nil {
		c.lookups.WithLabelValues("miss").Inc()
		return lavalink.LoadResult{}, false
	}
	c.lookups.WithLabelValues("hit").Inc()
	return lavalink.LoadResult{Type: cs.Type, Tracks: cs.Tracks}, true
}

// put stores a search's result: search results and "nothing found", never
// errors.
func (c *searchCache) put(ctx context.Context, prefix, terms string, res lavalink.LoadResult) error {
	if res.Type != lavalink.LoadSearch && res.Type != lavalink.LoadEmpty {
		return nil
	}
	b, err := json.Marshal(cachedSearch{Type: res.Type, Tracks: res.Tracks})
	if err != nil {
		return err
	}
	return c.rdb.Set(ctx, searchKey(prefix, terms), b, c.ttl).Err()
}

// search resolves plain search terms, trying each configured prefix in
// order until one finds something; results come from the cache when it
// has them.
func (m *Music) search(ctx context.Context, loader *lavalink.Client, terms string) (lavalink.LoadResult, error) {
	var failed *lavalink.Exception
	for _, prefix := range m.cfg.Search {
		res, ok := m.cache.get(ctx, prefix, terms)
		if !ok {
			var err error
			if res, err = loader.LoadTracks(ctx, prefix+":"+terms); err != nil {
				return lavalink.LoadResult{}, err
			}
			if err := m.cache.put(ctx, prefix, terms, res); err != nil {
				m.log.Warn("caching search results", "prefix", prefix, "err", err)
			}
		}
		switch {
		case res.Type == lavalink.LoadError:
			failed = res.Exception
		case res.Type != lavalink.LoadEmpty && len(res.Tracks) > 0:
			return res, nil
		}
	}
	if failed != nil {
		return lavalink.LoadResult{Type: lavalink.LoadError, Exception: failed}, nil
	}
	return lavalink.LoadResult{Type: lavalink.LoadEmpty}, nil
}
