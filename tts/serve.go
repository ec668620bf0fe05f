package tts

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClipPath is where a node serves clips: ClipPath + key + ".wav".
const ClipPath = "/tts/clip/"

// signer signs clip URLs: an HMAC-SHA256 of the key and the expiry.
type signer struct{ key []byte }

func newSigner(key []byte) (*signer, error) {
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	if len(key) < 16 {
		return nil, errors.New("tts: a URL signing key needs at least 16 bytes")
	}
	return &signer{key: key}, nil
}

func (s *signer) mac(clip string, exp int64) []byte {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s\n%d", clip, exp)
	return m.Sum(nil)
}

// path is the signed path of clip, good until exp.
func (s *signer) path(clip string, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("%s%s.wav?exp=%d&sig=%s", ClipPath, clip, e, hex.EncodeToString(s.mac(clip, e)))
}

// Why a clip URL is refused.
var (
	errForged  = errors.New("bad signature")
	errExpired = errors.New("expired")
)

// check verifies r's signature and expiry and returns its clip key.
func (s *signer) check(r *http.Request, now time.Time) (string, error) {
	name, ok := strings.CutPrefix(r.URL.Path, ClipPath)
	clip, ok2 := strings.CutSuffix(name, ".wav")
	if !ok || !ok2 || len(clip) != 64 || strings.Trim(clip, "0123456789abcdef") != "" {
		return "", errForged
	}
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil {
		return "", errForged
	}
	sig, err := hex.DecodeString(q.Get("sig"))
	if err != nil || !hmac.Equal(sig, s.mac(clip, exp)) {
		return "", errForged
	}
	if now.Unix() >= exp {
		return "", errExpired
	}
	return clip, nil
}

// Handler serves the clips at ClipPath to whoever holds a signed URL that
// has not expired (Lavalink); anything else is 403 and no clip is read.
// It answers GET and HEAD, with ranges.
func (s *Speaker) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		clip, err := s.signer.check(r, s.cfg.Now())
		if err != nil {
			reason := "forged"
			if errors.Is(err, errExpired) {
				reason = "expired"
			}
			s.metrics.denied.WithLabelValues(reason).Inc()
			http.Error(w, "this clip link is "+reason, http.StatusForbidden)
			return
		}
		wav, err := s.cfg.Redis.Get(r.Context(), clipKey(clip)).Bytes()
		if errors.Is(err, redis.Nil) {
			http.Error(w, "clip not found", http.StatusNotFound)
			return
		}
		if err != nil {
			s.log.Warn("serving a clip", "err", err)
			http.Error(w, "clip store unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Cache-Control", "private, no-store")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(wav))
	})
}
