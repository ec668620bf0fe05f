package agentpool

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

const redacted = "[redacted]"

// Token is a Discord bot token. Every way of printing, logging or encoding it
// shows "[redacted]"; Reveal returns the secret for the one place that needs
// it (the Authorization header). The secret sits behind a pointer so that
// even a Token in an unexported field, which fmt cannot ask to format
// itself, prints as an address and not as the token.
type Token struct{ secret *string }

// NewToken wraps a token as pasted by an operator: surrounding space and a
// "Bot " prefix are removed.
func NewToken(s string) Token {
	s = strings.TrimSpace(s)
	if len(s) > 4 && strings.EqualFold(s[:4], "bot ") {
		s = strings.TrimSpace(s[4:])
	}
	if s == "" {
		return Token{}
	}
	return Token{secret: &s}
}

// Reveal returns the token itself. Never log or print its result.
func (t Token) Reveal() string {
	if t.secret == nil {
		return ""
	}
	return *t.secret
}

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.secret == nil || *t.secret == "" }

// String returns "[redacted]".
func (t Token) String() string { return redacted }

// GoString returns "[redacted]", also for %#v.
func (t Token) GoString() string { return redacted }

// Format prints "[redacted]" for every verb (%s, %v, %q, %x, ...).
func (t Token) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue makes slog print "[redacted]".
func (t Token) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText makes JSON and other encoders write "[redacted]".
func (t Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Key is the 32-byte AES-256-GCM key of the agent tokens (AGENT_TOKEN_KEY).
// Like Token, it never prints.
type Key struct{ k *[32]byte }

// Errors about AGENT_TOKEN_KEY.
var (
	// ErrNoKey means AGENT_TOKEN_KEY is not set.
	ErrNoKey = errors.New("AGENT_TOKEN_KEY is not set: generate one with `openssl rand -hex 32`")
	// ErrBadKey means AGENT_TOKEN_KEY is not 64 hex characters.
	ErrBadKey = errors.New("AGENT_TOKEN_KEY is malformed")
	// ErrWrongKey means the key does not decrypt the registry.
	ErrWrongKey = errors.New("AGENT_TOKEN_KEY does not match the key the agent registry is encrypted with")
)

// ParseKey parses AGENT_TOKEN_KEY: exactly 64 hexadecimal characters. Its
// errors never repeat the value.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Key{}, ErrNoKey
	}
	if len(s) != 64 {
		return Key{}, fmt.Errorf("%w: want 64 hex characters (32 bytes), got %d characters", ErrBadKey, len(s))
	}
	var k [32]byte
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return Key{}, fmt.Errorf("%w: want 64 hex characters (0-9, a-f), found a non-hex character", ErrBadKey)
	}
	return Key{k: &k}, nil
}

// IsZero reports whether the key is unset.
func (k Key) IsZero() bool { return k.k == nil }

// Equal reports whether two keys are the same, in constant time.
func (k Key) Equal(o Key) bool {
	if k.k == nil || o.k == nil {
		return k.k == o.k
	}
	return subtle.ConstantTimeCompare(k.k[:], o.k[:]) == 1
}

// String returns "[redacted]".
func (k Key) String() string { return redacted }

// GoString returns "[redacted]".
func (k Key) GoString() string { return redacted }

// Format prints "[redacted]" for every verb.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue makes slog print "[redacted]".
func (k Key) LogValue() slog.Value { return slog.StringValue(redacted) }

func (k Key) aead() (cipher.AEAD, error) {
	if k.k == nil {
		return nil, ErrNoKey
	}
	block, err := aes.NewCipher(k.k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext under a fresh random nonce, bound to aad.
func (k Key) seal(plaintext, aad []byte) (nonce, ciphertext []byte, err error) {
	g, err := k.aead()
	if err != nil {
		return nil, nil, err
	}
	nonce = make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("reading random nonce: %w", err)
	}
	return nonce, g.Seal(nil, nonce, plaintext, aad), nil
}

// open decrypts; a wrong key or tampered data gives ErrWrongKey.
func (k Key) open(nonce, ciphertext, aad []byte) ([]byte, error) {
	g, err := k.aead()
	if err != nil {
		return nil, err
	}
	if len(nonce) != g.NonceSize() {
		return nil, fmt.Errorf("%w: stored nonce has %d bytes", ErrWrongKey, len(nonce))
	}
	pt, err := g.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, ErrWrongKey
	}
	return pt, nil
}

// tokenAAD binds a sealed token to its agent, so ciphertexts cannot be
// swapped between rows.
func tokenAAD(botUserID int64) []byte {
	return fmt.Appendf(nil, "chopsticks agent token v1 bot:%d", botUserID)
}

var checkAAD = []byte("chopsticks agent token key check v1")
var checkPlain = []byte("chopsticks")
