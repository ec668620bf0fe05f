package tts

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func TestCleanText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		err      error
	}{
		{"  hello   world ", "hello world", nil},
		{"héllo ✓", "héllo ✓", nil},
		{"   ", "", ErrTextEmpty},
		{"", "", ErrTextEmpty},
		{strings.Repeat("a", 12), "", ErrTextTooLong},
		{strings.Repeat("é", 11), strings.Repeat("é", 11), nil}, // characters, not bytes
		{"bell\x07", "", ErrTextInvalid},
		{"private \ue000", "", ErrTextInvalid},
		{"bad \xff utf8", "", ErrTextInvalid},
	}
	for _, tt := range tests {
		got, err := CleanText(tt.in, 11)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("CleanText(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// espeak returns the espeak-ng provider; a machine without espeak-ng fails
// the test with the command that installs it.
func espeak(t *testing.T) *Espeak {
	t.Helper()
	e, err := NewEspeak("")
	if err != nil {
		t.Fatalf("%v (scripts/deps.sh installs it; make test runs that)", err)
	}
	return e
}

func TestEspeakSpeaksWAV(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Fatalf("espeak-ng is missing: %s", InstallEspeak)
	}
	wav, err := espeak(t).Synthesize(context.Background(), "-v hello from the test")
	if err != nil {
		t.Fatal(err)
	}
	if string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		t.Fatalf("not a WAV file: % x", wav[:12])
	}
	if got := binary.LittleEndian.Uint32(wav[4:8]); int(got) != len(wav)-8 {
		t.Fatalf("RIFF size %d, file %d bytes: the streaming placeholder was not fixed", got, len(wav))
	}
	f, d, err := ParseWAV(wav)
	if err != nil || f.Bits != 16 || d < 500*time.Millisecond || d > 10*time.Second {
		t.Fatalf("ParseWAV = %+v %v %v", f, d, err)
	}
}

// fakeElevenLabs is ElevenLabs' text-to-speech endpoint as documented:
// POST /v1/text-to-speech/{voice_id}?output_format=..., the key in
// xi-api-key, a JSON body with text and model_id; audio bytes back, or a
// JSON {"detail": ...} error.
type fakeElevenLabs struct {
	key    string
	voices map[string]bool
	calls  atomic.Int64
}

var elevenLabsFormats = map[string]int{"pcm_8000": 8000, "pcm_16000": 16000, "pcm_22050": 22050, "pcm_24000": 24000, "pcm_44100": 44100}

func (f *fakeElevenLabs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	detail := func(status int, d any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"detail": d})
	}
	voice, ok := strings.CutPrefix(r.URL.Path, "/v1/text-to-speech/")
	if r.Method != http.MethodPost || !ok || voice == "" || strings.Contains(voice, "/") {
		detail(http.StatusNotFound, "Not Found")
		return
	}
	if r.Header.Get("xi-api-key") != f.key {
		detail(http.StatusUnauthorized, map[string]string{"status": "invalid_api_key", "message": "Invalid API key"})
		return
	}
	if !f.voices[voice] {
		detail(http.StatusBadRequest, map[string]string{"status": "voice_not_found", "message": "A voice with the voice_id " + voice + " was not found."})
		return
	}
	rate, ok := elevenLabsFormats[r.URL.Query().Get("output_format")]
	if !ok {
		detail(http.StatusUnprocessableEntity, []map[string]any{{"loc": []string{"query", "output_format"}, "msg": "invalid output format", "type": "value_error"}})
		return
	}
	var body struct {
		Text    *string `json:"text"`
		ModelID string  `json:"model_id"`
	}
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil || body.Text == nil {
		detail(http.StatusUnprocessableEntity, []map[string]any{{"loc": []string{"body", "text"}, "msg": "field required", "type": "value_error.missing"}})
		return
	}
	// 60 ms of a 440 Hz tone per character, as signed 16-bit mono PCM.
	n := rate * 60 / 1000 * len(*body.Text)
	pcm := make([]byte, 2*n)
	for i := range n {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(8000*math.Sin(2*math.Pi*440*float64(i)/float64(rate)))))
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(pcm)
}

func TestElevenLabsAgainstFake(t *testing.T) {
	t.Parallel()
	const key = "sk_test_0123456789abcdef"
	fake := &fakeElevenLabs{key: key, voices: map[string]bool{DefaultElevenLabsVoice: true}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	tests := []struct {
		name       string
		key, voice string
		wantErr    string
	}{
		{"speaks", key, "", ""},
		{"wrong key", "sk_wrong_key_000", "", "invalid_api_key"},
		{"unknown voice", key, "nosuchvoice", "voice_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewElevenLabs(ElevenLabsConfig{APIKey: tt.key, VoiceID: tt.voice, BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			wav, err := p.Synthesize(context.Background(), "hello there")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %s", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tt.key) {
					t.Fatal("the error shows the API key")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f, d, err := ParseWAV(wav)
			if err != nil || f != elevenLabsPCM || d != 660*time.Millisecond {
				t.Fatalf("ParseWAV = %+v %v %v, want 22.05 kHz mono 16-bit, 660ms", f, d, err)
			}
		})
	}
	if _, err := NewElevenLabs(ElevenLabsConfig{BaseURL: srv.URL}); err == nil {
		t.Fatal("a provider without a key was built")
	}
}

// countingProvider counts the texts it speaks and speaks them with espeak-ng.
type countingProvider struct {
	*Espeak
	mu    sync.Mutex
	calls map[string]int
	fail  error
}

func (c *countingProvider) Synthesize(ctx context.Context, text string) ([]byte, error) {
	c.mu.Lock()
	c.calls[text]++
	fail := c.fail
	c.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	return c.Espeak.Synthesize(ctx, text)
}

type premiumSet map[string]bool

func (p premiumSet) IsPremium(_ context.Context, user string) (bool, error) { return p[user], nil }

type speakerEnv struct {
	*Speaker
	prov *countingProvider
	rdb  *redis.Client
	now  *time.Time
}

func newSpeakerEnv(t *testing.T, cfg SpeakerConfig) *speakerEnv {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	now := time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC)
	env := &speakerEnv{prov: &countingProvider{Espeak: espeak(t), calls: map[string]int{}}, rdb: rdb, now: &now}
	cfg.Provider, cfg.Redis, cfg.Now = env.prov, rdb, func() time.Time { return *env.now }
	if cfg.BaseURL == nil {
		cfg.BaseURL = func() string { return "http://127.0.0.1:1" }
	}
	s, err := NewSpeaker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.Speaker = s
	return env
}

func TestSpeakerCachesPhrases(t *testing.T) {
	t.Parallel()
	env := newSpeakerEnv(t, SpeakerConfig{})
	ctx := context.Background()
	first, err := env.Prepare(ctx, "u1", "the same  phrase")
	if err != nil || first.Cached || first.Length <= 0 {
		t.Fatalf("first: %+v %v", first, err)
	}
	for _, user := range []string{"u1", "u2"} {
		again, err := env.Prepare(ctx, user, " the same phrase ")
		if err != nil || !again.Cached || again.Key != first.Key {
			t.Fatalf("repeat by %s: %+v %v", user, again, err)
		}
	}
	if n := env.prov.calls["the same phrase"]; n != 1 {
		t.Fatalf("the provider spoke the phrase %d times, want once", n)
	}
	if got := testutil.ToFloat64(env.metrics.cache.WithLabelValues("hit")); got != 2 {
		t.Fatalf("cache hits = %v", got)
	}
	// A failing provider refunds the charge and is ErrUnavailable.
	env.prov.fail = errors.New("boom")
	before, _ := env.Used(ctx, "u3")
	if _, err := env.Prepare(ctx, "u3", "a new phrase"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("failing provider: %v", err)
	}
	if after, _ := env.Used(ctx, "u3"); after != before {
		t.Fatalf("quota used %d -> %d after a failure", before, after)
	}
}

func TestSpeakerQuota(t *testing.T) {
	t.Parallel()
	env := newSpeakerEnv(t, SpeakerConfig{DailyChars: 10, PremiumDailyChars: 20, Premium: premiumSet{"vip": true}})
	ctx := context.Background()
	tests := []struct {
		user, text string
		want       error
	}{
		{"bob", "12345678", nil},
		{"bob", "abc", ErrQuota}, // 8 + 3 > 10
		{"bob", "ab", nil},       // 10: exactly the quota
		{"bob", "a", ErrQuota},
		{"vip", "1234567890123456", nil}, // premium: 20
		{"vip", "12345", ErrQuota},
		{"eve", strings.Repeat("x", 11), ErrQuota},
	}
	for _, tt := range tests {
		before, _ := env.Used(ctx, tt.user)
		_, err := env.Prepare(ctx, tt.user, tt.text)
		if !errors.Is(err, tt.want) {
			t.Fatalf("%s says %q: %v, want %v", tt.user, tt.text, err, tt.want)
		}
		after, _ := env.Used(ctx, tt.user)
		if tt.want != nil && after != before {
			t.Fatalf("a refusal charged %d characters", after-before)
		}
		if tt.want != nil && !strings.Contains(err.Error(), "midnight UTC") {
			t.Fatalf("refusal %q does not say when it renews", err)
		}
	}
	// The next UTC day the allowance is whole again.
	*env.now = env.now.Add(2 * time.Hour)
	if _, err := env.Prepare(ctx, "bob", "12345"); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

func TestClipURLs(t *testing.T) {
	t.Parallel()
	var srv *httptest.Server
	env := newSpeakerEnv(t, SpeakerConfig{URLTTL: time.Minute, BaseURL: func() string { return srv.URL }})
	srv = httptest.NewServer(env.Handler())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	clip, err := env.Prepare(ctx, "u", "serve me")
	if err != nil {
		t.Fatal(err)
	}
	good, err := env.URL(ctx, clip.Key)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := env.Prepare(ctx, "u", "another clip")
	otherURL, _ := env.URL(ctx, other.Key)
	tamper := func(from, to string) string { return strings.Replace(good, from, to, 1) }
	sig := good[strings.Index(good, "sig=")+4:]
	tests := []struct {
		name   string
		url    string
		later  time.Duration
		status int
	}{
		{"signed", good, 0, http.StatusOK},
		{"signed, near expiry", good, 59 * time.Second, http.StatusOK},
		{"expired", good, time.Minute, http.StatusForbidden},
		{"forged signature", tamper(sig, strings.Repeat("0", len(sig))), 0, http.StatusForbidden},
		{"no signature", good[:strings.Index(good, "&sig=")], 0, http.StatusForbidden},
		{"expiry moved", tamper("exp=", "exp=9"), 0, http.StatusForbidden},
		{"another clip's signature", tamper(clip.Key, other.Key), 0, http.StatusForbidden},
		{"other clip", otherURL, 0, http.StatusOK},
	}
	start := *env.now
	for _, tt := range tests {
		*env.now = start.Add(tt.later)
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		if tt.status == http.StatusOK && (!bytes.HasPrefix(body, []byte("RIFF")) || resp.Header.Get("Content-Type") != "audio/wav") {
			t.Fatalf("%s: served %q, % x", tt.name, resp.Header.Get("Content-Type"), body[:min(12, len(body))])
		}
	}
	if got := testutil.ToFloat64(env.metrics.denied.WithLabelValues("forged")); got != 4 {
		t.Fatalf("forged denials = %v, want 4", got)
	}
	// A clip that left the cache has no URL.
	env.rdb.Del(ctx, clipKey(clip.Key))
	if _, err := env.URL(ctx, clip.Key); err == nil {
		t.Fatal("a URL was signed for an uncached clip")
	}
}
