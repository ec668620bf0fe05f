package tts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ElevenLabs defaults.
const (
	DefaultElevenLabsURL   = "https://api.elevenlabs.io"
	DefaultElevenLabsVoice = "21m00Tcm4TlvDq8Ikt6D" // "Rachel", a premade voice every account has
	DefaultElevenLabsModel = "eleven_multilingual_v2"
)

// elevenLabsFormat is the output_format asked for: raw 16-bit little-endian
// mono PCM at 22.05 kHz, which every plan may request and which becomes a
// WAV file by adding a header (Lavalink plays WAV; it cannot play raw PCM).
const elevenLabsFormat = "pcm_22050"

var elevenLabsPCM = WAVFormat{Channels: 1, SampleRate: 22050, Bits: 16}

// ElevenLabsConfig configures the ElevenLabs provider.
type ElevenLabsConfig struct {
	// APIKey is sent as xi-api-key; it never appears in errors or logs.
	APIKey string
	// VoiceID is the voice spoken with; default DefaultElevenLabsVoice.
	VoiceID string
	// Model is the model_id; default DefaultElevenLabsModel.
	Model string
	// BaseURL is the API's base; default DefaultElevenLabsURL.
	BaseURL string
	// Client makes the requests; default one with a 30 s timeout.
	Client *http.Client
}

// String describes the configuration with the API key hidden, so that
// printing it (or a struct holding it) never shows the key.
func (c ElevenLabsConfig) String() string {
	key := "none"
	if c.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("{voice:%s model:%s url:%s key:%s}", c.VoiceID, c.Model, c.BaseURL, key)
}

// GoString is String, for %#v.
func (c ElevenLabsConfig) GoString() string { return c.String() }

// ElevenLabs speaks through ElevenLabs' text-to-speech API
// (POST /v1/text-to-speech/{voice_id}).
type ElevenLabs struct {
	cfg  ElevenLabsConfig
	base *url.URL
}

// NewElevenLabs returns the ElevenLabs provider; the key is required.
func NewElevenLabs(cfg ElevenLabsConfig) (*ElevenLabs, error) {
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, fmt.Errorf("tts: ElevenLabs needs an API key")
	}
	if cfg.VoiceID == "" {
		cfg.VoiceID = DefaultElevenLabsVoice
	}
	if cfg.Model == "" {
		cfg.Model = DefaultElevenLabsModel
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultElevenLabsURL
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	base, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("tts: ElevenLabs base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	return &ElevenLabs{cfg: cfg, base: base}, nil
}

// Name is "elevenlabs".
func (e *ElevenLabs) Name() string { return "elevenlabs" }

// Voice is the voice ID, with the model (another model is another voice).
func (e *ElevenLabs) Voice() string { return e.cfg.VoiceID + "/" + e.cfg.Model }

// elevenLabsRequest is the JSON body of a text-to-speech request.
type elevenLabsRequest struct {
	Text    string `json:"text"`
	ModelID string `json:"model_id"`
}

// Synthesize asks ElevenLabs for the text spoken as PCM and returns it as WAV.
func (e *ElevenLabs) Synthesize(ctx context.Context, text string) ([]byte, error) {
	u := *e.base
	u.Path += "/v1/text-to-speech/" + url.PathEscape(e.cfg.VoiceID)
	u.RawQuery = url.Values{"output_format": {elevenLabsFormat}}.Encode()
	body, _ := json.Marshal(elevenLabsRequest{Text: text, ModelID: e.cfg.Model})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: elevenlabs: %w", errProvider, err)
	}
	req.Header.Set("xi-api-key", e.cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "audio/*")
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: elevenlabs: %w", errProvider, redact(err, e.cfg.APIKey))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: elevenlabs: reading the audio: %w", errProvider, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: elevenlabs: HTTP %d: %s", errProvider, resp.StatusCode, elevenLabsDetail(raw))
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/") {
		return nil, fmt.Errorf("%w: elevenlabs: answered %s, not audio", errProvider, ct)
	}
	if len(raw) == 0 || len(raw)%2 != 0 {
		return nil, fmt.Errorf("%w: elevenlabs: %d bytes are not 16-bit PCM", errProvider, len(raw))
	}
	return pcmWAV(raw, elevenLabsPCM), nil
}

// elevenLabsDetail reads the reason of an error answer: the API sends
// {"detail": {"status", "message"}} (401, 400, 429) or FastAPI's validation
// list {"detail": [{"loc", "msg", "type"}]} (422).
func elevenLabsDetail(raw []byte) string {
	var e struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &e) != nil || len(e.Detail) == 0 {
		return strings.TrimSpace(string(raw[:min(len(raw), 200)]))
	}
	var one struct{ Status, Message string }
	if json.Unmarshal(e.Detail, &one) == nil && one.Status != "" {
		return one.Status + ": " + one.Message
	}
	var list []struct {
		Loc []any
		Msg string
	}
	if json.Unmarshal(e.Detail, &list) == nil && len(list) > 0 {
		return fmt.Sprintf("%v: %s", list[0].Loc, list[0].Msg)
	}
	return string(e.Detail)
}

// redact removes secret from err's text (a transport error may echo a
// request detail).
func redact(err error, secret string) error {
	if secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), secret, "<redacted>"))
}
