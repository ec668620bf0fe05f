package tts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Premium tells whether a user has premium, which raises their daily
// character quota. The premium feature provides it; without one nobody has.
type Premium interface {
	IsPremium(ctx context.Context, userID string) (bool, error)
}

// Defaults of SpeakerConfig.
const (
	DefaultDailyChars        = 2000
	DefaultPremiumDailyChars = 10000
	DefaultURLTTL            = 30 * time.Second
	DefaultCacheTTL          = 24 * time.Hour
)

// SpeakerConfig configures a Speaker.
type SpeakerConfig struct {
	Provider Provider
	// Redis holds the clips and the quotas, shared by the cluster.
	Redis redis.UniversalClient
	// MaxChars limits one text, in characters; default DefaultMaxChars.
	MaxChars int
	// DailyChars and PremiumDailyChars are a user's characters a day (UTC)
	// without and with premium; defaults DefaultDailyChars and
	// DefaultPremiumDailyChars.
	DailyChars, PremiumDailyChars int
	// Premium says who has premium; nil: nobody.
	Premium Premium
	// URLTTL is how long a signed clip URL is good for; default DefaultURLTTL.
	URLTTL time.Duration
	// CacheTTL is how long a clip stays cached after it was last made;
	// default DefaultCacheTTL.
	CacheTTL time.Duration
	// BaseURL returns the URL at which Lavalink reaches this node's HTTP
	// server (the clip URLs are under it); required.
	BaseURL func() string
	// URLKey signs the clip URLs this node hands out and checks those it
	// serves; nil makes a random one (each node signs its own URLs, which
	// point at itself).
	URLKey []byte
	// Now is the clock; default time.Now.
	Now        func() time.Time
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Speaker makes /say's clips: it checks the text, charges the user's quota,
// and speaks the text through the provider unless the clip is cached.
type Speaker struct {
	cfg     SpeakerConfig
	log     *slog.Logger
	signer  *signer
	metrics speakerMetrics
}

type speakerMetrics struct {
	synth  *prometheus.CounterVec
	cache  *prometheus.CounterVec
	denied *prometheus.CounterVec
}

// NewSpeaker returns a Speaker.
func NewSpeaker(cfg SpeakerConfig) (*Speaker, error) {
	if cfg.Provider == nil || cfg.Redis == nil || cfg.BaseURL == nil {
		return nil, errors.New("tts: SpeakerConfig needs Provider, Redis and BaseURL")
	}
	if cfg.MaxChars <= 0 {
		cfg.MaxChars = DefaultMaxChars
	}
	if cfg.DailyChars <= 0 {
		cfg.DailyChars = DefaultDailyChars
	}
	if cfg.PremiumDailyChars <= 0 {
		cfg.PremiumDailyChars = DefaultPremiumDailyChars
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = DefaultURLTTL
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sg, err := newSigner(cfg.URLKey)
	if err != nil {
		return nil, err
	}
	s := &Speaker{cfg: cfg, log: cfg.Logger, signer: sg, metrics: speakerMetrics{
		synth: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chopsticks_tts_synthesized_total",
			Help: "Texts sent to the speech provider, by provider and result."}, []string{"provider", "result"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chopsticks_tts_cache_lookups_total",
			Help: "Clip cache lookups of /say, by result (hit or miss)."}, []string{"result"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chopsticks_tts_url_denied_total",
			Help: "Clip URL requests refused, by reason (expired, forged)."}, []string{"reason"}),
	}}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.metrics.synth, s.metrics.cache, s.metrics.denied} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("tts: registering metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Clip is a spoken text ready to be played: its cache key and what it cost.
type Clip struct {
	// Key names the clip in the cache and in its URL.
	Key string `json:"key"`
	// Chars is the text's length in characters, charged to the quota.
	Chars int `json:"chars"`
	// Length is how long it speaks.
	Length time.Duration `json:"length"`
	// Cached is true when the provider was not asked.
	Cached bool `json:"cached,omitempty"`
}

func clipKey(key string) string { return "chopsticks:tts:clip:" + key }

// Prepare checks text, charges userID's quota and returns the clip, spoken
// by the provider unless cached. A refusal (bad text, quota used) changes
// nothing; a provider failure refunds the charge and is ErrUnavailable.
func (s *Speaker) Prepare(ctx context.Context, userID, text string) (Clip, error) {
	clean, err := CleanText(text, s.cfg.MaxChars)
	if err != nil {
		return Clip{}, err
	}
	clip := Clip{Key: s.hash(clean), Chars: utf8.RuneCountInString(clean)}
	refund, err := s.charge(ctx, userID, clip.Chars)
	if err != nil {
		return Clip{}, err
	}
	wav, err := s.cfg.Redis.Get(ctx, clipKey(clip.Key)).Bytes()
	switch {
	case err == nil:
		s.metrics.cache.WithLabelValues("hit").Inc()
		clip.Cached = true
		s.cfg.Redis.Expire(ctx, clipKey(clip.Key), s.cfg.CacheTTL)
	case errors.Is(err, redis.Nil):
		s.metrics.cache.WithLabelValues("miss").Inc()
		if wav, err = s.cfg.Provider.Synthesize(ctx, clean); err != nil {
			s.metrics.synth.WithLabelValues(s.cfg.Provider.Name(), "error").Inc()
			refund()
			s.log.Warn("speech provider failed", "provider", s.cfg.Provider.Name(), "err", err)
			return Clip{}, fmt.Errorf("%w (%w)", ErrUnavailable, err)
		}
		s.metrics.synth.WithLabelValues(s.cfg.Provider.Name(), "ok").Inc()
		if err := s.cfg.Redis.Set(ctx, clipKey(clip.Key), wav, s.cfg.CacheTTL).Err(); err != nil {
			refund()
			return Clip{}, fmt.Errorf("tts: caching the clip: %w", err)
		}
	default:
		refund()
		return Clip{}, fmt.Errorf("tts: reading the clip cache: %w", err)
	}
	if _, clip.Length, err = ParseWAV(wav); err != nil {
		return Clip{}, fmt.Errorf("tts: the cached clip: %w", err)
	}
	return clip, nil
}

// hash is the clip key of text spoken by this provider and voice.
func (s *Speaker) hash(text string) string {
	h := sha256.New()
	for _, part := range []string{s.cfg.Provider.Name(), s.cfg.Provider.Voice(), text} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// URL returns a signed URL of the clip, good for URLTTL, on this node. The
// clip must still be cached.
func (s *Speaker) URL(ctx context.Context, key string) (string, error) {
	n, err := s.cfg.Redis.Exists(ctx, clipKey(key)).Result()
	if err != nil {
		return "", fmt.Errorf("tts: looking up the clip: %w", err)
	}
	if n == 0 {
		return "", fmt.Errorf("tts: clip %s is no longer cached", key)
	}
	return s.cfg.BaseURL() + s.signer.path(key, s.cfg.Now().Add(s.cfg.URLTTL)), nil
}

// Limits returns the per-text limit and the daily quotas, for help texts.
func (s *Speaker) Limits() (maxChars, daily, premiumDaily int) {
	return s.cfg.MaxChars, s.cfg.DailyChars, s.cfg.PremiumDailyChars
}
